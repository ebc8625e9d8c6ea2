import { Injectable } from '@nestjs/common';
import { Actor, Clock, DomainError, ForbiddenError, ValidationError } from '@app/shared';
import { ContactsRepository } from '../contacts.repository';
import { ContactWriter } from '../contact-writer';
import { FOLLOW_UP_DEFAULTS, FollowUpInput, LeadStatusChanged, FollowUpScheduled, LogCall } from '../domain';
import { uuidFromKey } from '../ids';
import { CallPush, CallPushResult } from './call-push';

const DAY_MS = 24 * 3600_000;
const HOUR_MS = 3600_000;

/**
 * The dialler ingest path: checks what needs I/O (the contact is visible, the agent and campaigns belong to
 * the org), then appends the call with what it causes (lead status, follow-up) to the contact's stream in one
 * append. Idempotent by callId + status: the decider answers a known call with nothing, and the idempotency
 * keys answer a concurrent retry with the first one's result.
 */
@Injectable()
export class CallIngest {
  constructor(
    private readonly writer: ContactWriter,
    private readonly contacts: ContactsRepository,
    private readonly clock: Clock,
  ) {}

  async ingest(actor: Actor, push: CallPush): Promise<CallPushResult> {
    const now = this.clock.now();
    const started = Date.parse(push.startedAt);
    if (Number.isNaN(started)) throw new ValidationError('startedAt', 'must be an ISO-8601 timestamp');
    if (started > now.getTime() + DAY_MS) throw new ValidationError('startedAt', 'must not be more than 24 h in the future');

    await this.contacts.get(actor, push.contactId);
    if (actor.role === 'agent' && push.agentId !== actor.userId) throw new ForbiddenError('an agent can only log their own calls');
    const staff = [push.agentId, push.followUp?.agentId].filter((x): x is string => !!x);
    const known = await this.contacts.activeStaff(actor.orgId, staff);
    if (!known.has(push.agentId)) throw new ValidationError('agentId', `${push.agentId} is not an active agent of this organization`);
    if (push.followUp?.agentId && !known.has(push.followUp.agentId)) {
      throw new ValidationError('followUp.agentId', `${push.followUp.agentId} is not an active agent of this organization`);
    }
    for (const [field, id] of [
      ['campaignId', push.campaignId],
      ['followUp.campaignId', push.followUp?.campaignId],
    ] as const) {
      if (id && !(await this.contacts.campaignExists(actor.orgId, id))) throw new ValidationError(field, `${id} is not a campaign of this organization`);
    }

    // Derived from the call, so a retried push schedules the very same follow-up.
    const followUpId = uuidFromKey(`follow-up:${actor.orgId}:${push.callId}`);
    const command = (): LogCall => ({
      type: 'LogCall',
      contactId: push.contactId,
      call: {
        callId: push.callId,
        agentId: push.agentId,
        direction: push.direction,
        status: push.status,
        durationSec: push.durationSec,
        startedAt: push.startedAt,
        note: push.note,
        leadStatus: push.leadStatus,
        campaignId: push.campaignId,
        tags: push.tags,
        followUpId: push.followUpId,
      },
      followUp: push.followUp ? followUpInput(followUpId, push.followUp, now) : undefined,
      callback: push.callbackAt !== undefined ? { followUpId, callbackAt: push.callbackAt, reason: push.reason } : undefined,
    });
    const written = await this.writer.write(actor, push.contactId, command, `call:${push.callId}:${push.status}`);
    const changed = written.events.find((e) => e.type === LeadStatusChanged);
    const scheduled = written.events.find((e) => e.type === FollowUpScheduled);
    return {
      status: written.duplicate ? 'duplicate' : 'accepted',
      callId: push.callId,
      contactId: push.contactId,
      leadStatus: changed && !written.result?.replayed ? (changed.data as { to: CallPushResult['leadStatus'] }).to : written.state.leadStatus,
      followUpId: scheduled ? followUpId : null,
    };
  }

  /**
   * A batch, answered per item in order. Items of one contact run one after the other in the order sent
   * (In-progress then final must stay in that order); different contacts run in parallel.
   */
  async ingestBatch(actor: Actor, calls: readonly CallPush[], concurrency = 16): Promise<({ ok: CallPushResult } | { error: DomainError | Error })[]> {
    const results: ({ ok: CallPushResult } | { error: DomainError | Error })[] = new Array(calls.length);
    const byContact = new Map<string, number[]>();
    calls.forEach((c, i) => byContact.set(c.contactId, [...(byContact.get(c.contactId) ?? []), i]));
    const lanes = [...byContact.values()];
    let next = 0;
    const worker = async () => {
      while (next < lanes.length) {
        const lane = lanes[next++];
        for (const i of lane) {
          try {
            results[i] = { ok: await this.ingest(actor, calls[i]) };
          } catch (error) {
            results[i] = { error: error as Error };
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, lanes.length) }, worker));
    return results;
  }
}

/** SPEC §5 defaults: type call, due in one hour, priority normal, 3 attempts, no out-of-window calls. */
export function followUpInput(followUpId: string, f: import('./call-push').FollowUpFields, now: Date): FollowUpInput {
  return {
    followUpId,
    type: f.type ?? FOLLOW_UP_DEFAULTS.type,
    scheduledAt: f.scheduledAt ?? new Date(now.getTime() + HOUR_MS).toISOString(),
    agentId: f.agentId ?? null,
    priority: f.priority ?? FOLLOW_UP_DEFAULTS.priority,
    maxAttempts: f.maxAttempts ?? FOLLOW_UP_DEFAULTS.maxAttempts,
    allowOutOfWindow: f.allowOutOfWindow ?? FOLLOW_UP_DEFAULTS.allowOutOfWindow,
    notes: f.notes ?? null,
    campaignId: f.campaignId ?? null,
    message: f.message ?? null,
    url: f.url ?? null,
  };
}
