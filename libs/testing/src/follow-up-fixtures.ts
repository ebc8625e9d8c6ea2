import { DateTime } from 'luxon';
import { FollowUpWriter } from '@app/follow-ups';
import { systemActor } from '@app/shared';
import { TimelineEntry } from './http-client';
import { HttpSink, SinkRequest } from './http-sink';
import { TestApp } from './test-app';

/**
 * What the follow-up execution suites (follow-up-execution, execution-races, crash-recovery) each set up and read the
 * same way: an org whose window never closes, scheduling over HTTP, a follow-up's page and its timeline events.
 */

export const ALL_DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
/** A calling window open at every minute of every day (an end of 24:00 is the end of the local day). */
export const ALWAYS_OPEN = { days: ALL_DAYS, start: '00:00', end: '24:00' };

/** A follow-up as GET /api/follow-ups/:id answers it (the fields these suites read). */
export interface FollowUpView {
  id: string;
  contactId: string;
  type: string;
  status: string;
  scheduledAt: string;
  agentId: string | null;
  campaignId: string | null;
  maxAttempts: number;
  attempts: number;
  nextAttemptAt: string | null;
  allowOutOfWindow: boolean;
  outOfWindow: boolean;
  lastError: string | null;
  resolvedAt: string | null;
}

/** Any of the suites' HTTP clients: supertest's recording client, or fetch to a real process. */
export type Send = (method: 'get' | 'post' | 'patch', path: string, key: string, body?: unknown) => Promise<{ status: number; body: unknown }>;

/** An org (window always open, http to local receivers allowed, retries after 1 s, then `settings`) with one agent. */
export async function executionOrg(t: TestApp, send: Send, settings: Record<string, unknown> = {}) {
  const org = await t.createOrg(`Org ${Math.random().toString(36).slice(2, 10)}`);
  const admin = org.adminKey;
  const agent = await t.createUser(admin, { name: 'Ana', role: 'agent' });
  const patched = await send('patch', '/api/settings', admin, { webhooks: { allowHttpHosts: ['127.0.0.1'] }, retryDelaySeconds: 1, callingWindow: ALWAYS_OPEN, ...settings });
  expect({ status: patched.status, body: patched.body }).toMatchObject({ status: 200 });
  const read = (await send('get', '/api/settings', admin)).body as { signingSecret: string };
  expect(read.signingSecret).toMatch(/^whsec_/);
  return { orgId: org.orgId, admin, agent, secret: read.signingSecret };
}

/** Schedules a follow-up on a contact (201 expected). */
export async function scheduleFollowUp(send: Send, adminKey: string, contactId: string, body: Record<string, unknown>): Promise<FollowUpView> {
  const res = await send('post', `/api/contacts/${contactId}/follow-ups`, adminKey, body);
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 201 });
  return res.body as FollowUpView;
}

/** A follow-up's page (200 expected). */
export async function readFollowUp(send: Send, adminKey: string, id: string): Promise<FollowUpView> {
  const res = await send('get', `/api/follow-ups/${id}`, adminKey);
  expect(res.status).toBe(200);
  return res.body as FollowUpView;
}

/** One follow-up's events on its contact's timeline, oldest first. */
export async function followUpEvents(send: Send, adminKey: string, contactId: string, followUpId: string): Promise<TimelineEntry[]> {
  const res = await send('get', `/api/contacts/${contactId}/timeline?limit=200`, adminKey);
  expect(res.status).toBe(200);
  return ((res.body as { entries: TimelineEntry[] }).entries).filter((e) => e.data.followUpId === followUpId).reverse();
}

/** What a receiver got about one follow-up (webhooks, SMS and dial requests all carry followUpId). */
export const requestsFor = (sink: HttpSink, followUpId: string): SinkRequest[] => sink.requests.filter((r) => (r.body as { followUpId?: string } | null)?.followUpId === followUpId);

/**
 * The start of attempt 1 (schedule 1) of a follow-up due now as a worker decides it, appended by hand with nothing
 * delivered, as a crash or a stalled worker leaves it: the window it saw (open by default), and for a call the agent it
 * routes to and whether the settings it read had a dialler.
 */
export function startAttemptByHand(
  t: TestApp,
  orgId: string,
  contactId: string,
  followUpId: string,
  fields: { window?: { inWindow: boolean; nextOpening: string | null }; agentId?: string; dialled?: boolean } = {},
) {
  return t.app.get(FollowUpWriter).write(systemActor(orgId), contactId, () => ({
    type: 'StartFollowUpAttempt',
    contactId,
    followUpId,
    schedule: 1,
    now: new Date().toISOString(),
    window: { inWindow: true, nextOpening: null },
    ...fields,
  }));
}

/** A fixed-offset zone whose local time is now between `hour`:00 and `hour`:59. */
export function etcZoneAtLocalHour(hour: number): string {
  let offset = hour - new Date().getUTCHours();
  if (offset < -12) offset += 24;
  if (offset > 14) offset -= 24;
  return offset === 0 ? 'Etc/UTC' : offset > 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}

/**
 * A real IANA zone whose local time is now between 02:00 and 03:59 (well away from an 08:00 opening and a 21:00
 * close), preferring one that observes DST, so a deferral is computed across a real zone's rules.
 */
export function nightZone(): string {
  const now = DateTime.now();
  const candidates = Intl.supportedValuesOf('timeZone').filter((z) => {
    const local = now.setZone(z);
    return local.isValid && local.hour >= 2 && local.hour < 4;
  });
  const observesDst = (z: string) => DateTime.fromISO('2025-01-15T12:00:00Z').setZone(z).offset !== DateTime.fromISO('2025-07-15T12:00:00Z').setZone(z).offset;
  return candidates.find(observesDst) ?? candidates[0] ?? etcZoneAtLocalHour(3);
}
