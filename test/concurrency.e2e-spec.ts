import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { Response } from 'supertest';
import { expectError, installNo5xxGuard, recordingClient, startTestApp, TestApp, TimelineEntry } from '@app/testing';

/**
 * Clients racing each other over HTTP, as call-centre platforms do in production: diallers retrying a push from
 * several connections, two supervisors clicking at once, an agent working the hub while the dialler pushes. Each
 * scenario fires its requests together (Promise.all, several rounds) and then checks what a user sees: no 5xx, no
 * lost or doubled effect, and answers that agree with the final state. Every scenario has an org of its own.
 */

type User = { id: string; apiKey: string };
type Entry = TimelineEntry;
type Call = { callId: string; contactId: string; status: string; live: boolean; startedAt: string; durationSec: number; followUpId: string | null };
type FollowUp = { id: string; contactId: string; type: string; status: string; scheduledAt: string; source: string; resolvedAt: string | null };
type Contact = { id: string; name: string; phone: string; tags: string[]; leadQuality: string; leadStatus: string; nextFollowUpAt: string | null; lastCallAt: string | null; status: string };
type BatchResult = { index: number; status: 'accepted' | 'duplicate' | 'rejected'; statusCode?: number; error?: string; callId?: string };
type LeadStatus = 'New' | 'Interested' | 'Not Interested' | 'Followups' | 'Not Picked' | 'Missed';

const HUB = '/api/follow-ups/due';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const iso = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();
const utc = (at: string) => new Date(at).toISOString();
const SPOKEN_TO: readonly LeadStatus[] = ['Interested', 'Not Interested', 'Followups'];
const OPEN = ['scheduled', 'queued', 'in_progress', 'snoozed'];
/** The follow-up events a user's action appends, by the action. */
const ACTION_KIND = { snooze: 'follow_up_snoozed', reschedule: 'follow_up_rescheduled', cancel: 'follow_up_cancelled', complete: 'follow_up_completed' } as const;
type Action = keyof typeof ACTION_KIND;

/** SPEC §4: the lead status after a final call, from the one before. */
function leadAfter(current: LeadStatus, call: { status: string; leadStatus?: LeadStatus }): LeadStatus {
  switch (call.status) {
    case 'Called':
      return call.leadStatus && SPOKEN_TO.includes(call.leadStatus) ? call.leadStatus : current;
    case 'Busy':
    case 'No Answer':
      return SPOKEN_TO.includes(current) ? current : 'Not Picked';
    case 'Missed':
      return SPOKEN_TO.includes(current) ? current : 'Missed';
    case 'Follow up':
    case 'Rescheduled':
      return 'Followups';
    default:
      throw new Error(`not a final status: ${call.status}`);
  }
}

/** The follow-up's own events in a timeline (a call naming it is not one of them). */
const ofFollowUp = (entries: Entry[], followUpId: string) => entries.filter((e) => e.kind.startsWith('follow_up_') && e.data.followUpId === followUpId);

/** A small seeded generator, so a failing round can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

// whole flows over HTTP with workers running, on a machine other suites share
jest.setTimeout(60_000);

describe('concurrent clients (SPEC §3–§7, §9)', () => {
  let t: TestApp;
  /** Every response of the current test, to prove none was a 5xx (SPEC §9). */
  const client = recordingClient(() => t);
  installNo5xxGuard(client);
  const { get, post, patch } = client;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  let phoneSeq = 1000;
  const nextPhone = () => `+1415558${String(phoneSeq++).padStart(4, '0')}`;

  /** A fresh org (UTC) with its admin, two supervisors, an agent and two dialler integrations. */
  const setup = async () => {
    const org = await t.createOrg(`Race ${randomUUID().slice(0, 8)}`, 'UTC');
    const admin: User = { id: org.adminUserId, apiKey: org.adminKey };
    const [sue, sam, ana, bob, dialler, dialler2] = await Promise.all([
      t.createUser(org.adminKey, { name: 'Sue', role: 'supervisor' }),
      t.createUser(org.adminKey, { name: 'Sam', role: 'supervisor' }),
      t.createUser(org.adminKey, { name: 'Ana', role: 'agent' }),
      t.createUser(org.adminKey, { name: 'Bob', role: 'agent' }),
      t.createUser(org.adminKey, { name: 'Dialler A', role: 'integration' }),
      t.createUser(org.adminKey, { name: 'Dialler B', role: 'integration' }),
    ]);
    // open round the clock, so the worker starts the attempts of due call follow-ups (and races the clients) at any hour
    const settings = await patch('/api/settings', admin.apiKey, { callingWindow: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '23:59' } });
    expect(settings.status).toBe(200);
    return { orgId: org.orgId, admin, sue, sam, ana, bob, dialler, dialler2 };
  };
  type Org = Awaited<ReturnType<typeof setup>>;

  const newContact = async (o: Org, extra: Record<string, unknown> = {}): Promise<string> => {
    const res = await post('/api/contacts', o.admin.apiKey, { name: 'Sarah Lee', phone: nextPhone(), assignedAgentId: o.ana.id, ...extra });
    expect(res.status).toBe(201);
    return res.body.id;
  };

  const callBody = (o: Org, contactId: string, body: Record<string, unknown> = {}) => ({
    callId: randomUUID(),
    contactId,
    agentId: o.ana.id,
    direction: 'outbound',
    status: 'Called',
    durationSec: 0,
    startedAt: iso(-5 * MINUTE),
    ...body,
  });

  const contact = async (o: Org, id: string): Promise<Contact> => {
    const res = await get(`/api/contacts/${id}`, o.admin.apiKey);
    expect(res.status).toBe(200);
    return res.body;
  };
  /** The contact's stream, oldest first (the API gives it newest first). */
  const timeline = async (o: Org, id: string): Promise<Entry[]> => {
    const res = await get(`/api/contacts/${id}/timeline?limit=200`, o.admin.apiKey);
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    return [...res.body.entries].reverse();
  };
  const callsOf = async (o: Org, id: string): Promise<Call[]> => {
    const res = await get(`/api/calls?contactId=${id}&limit=200`, o.admin.apiKey);
    expect(res.status).toBe(200);
    return res.body.calls;
  };
  const followUpsOf = async (o: Org, id: string): Promise<FollowUp[]> => {
    const res = await get(`/api/contacts/${id}/follow-ups?limit=200`, o.admin.apiKey);
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    return res.body.followUps;
  };
  const followUp = async (o: Org, id: string): Promise<FollowUp> => {
    const res = await get(`/api/follow-ups/${id}`, o.admin.apiKey);
    expect(res.status).toBe(200);
    return res.body;
  };
  const liveIds = async (o: Org): Promise<string[]> => {
    const res = await get('/api/calls/live', o.sue.apiKey);
    expect(res.status).toBe(200);
    return res.body.calls.map((c: Call) => c.callId);
  };
  /** Contact ids in an agent's hub (whole list; Ana's unless said). */
  const hubIds = async (o: Org, agent: User = o.ana): Promise<string[]> => {
    const res = await get(`${HUB}?limit=200`, agent.apiKey);
    expect(res.status).toBe(200);
    return res.body.followUps.map((f: { contactId: string }) => f.contactId);
  };
  /** Every call of the org, following nextCursor. */
  const allCalls = async (o: Org): Promise<Call[]> => {
    const calls: Call[] = [];
    let cursor: string | null = null;
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(50);
      const res: Response = await get(`/api/calls?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, o.admin.apiKey);
      expect(res.status).toBe(200);
      calls.push(...res.body.calls);
      cursor = res.body.nextCursor;
      if (!cursor) return calls;
    }
  };
  /** What the event store holds for a callId: event types and how many of each (the source of truth). */
  const eventsOfCall = async (o: Org, callId: string): Promise<Record<string, number>> => {
    const { rows } = await t.db.query<{ type: string; n: number }>(
      `SELECT type, count(*)::int AS n FROM events WHERE org_id = $1 AND data->>'callId' = $2 GROUP BY type ORDER BY type`,
      [o.orgId, callId],
    );
    return Object.fromEntries(rows.map((r) => [r.type, r.n]));
  };
  /** The end of today in UTC (the agents' timezone here): what the hub lists is due before it. */
  const endOfTodayUtc = () => DateTime.utc().endOf('day').toMillis();

  /** A contact's nextFollowUpAt is its earliest open call follow-up, and it is in its agent's hub exactly when that is due by the end of today (SPEC §6). */
  const expectContactAgreesWithFollowUps = async (o: Org, id: string) => {
    const open = (await followUpsOf(o, id)).filter((f) => f.type === 'call' && OPEN.includes(f.status)).map((f) => utc(f.scheduledAt));
    const next = open.length ? open.sort()[0] : null;
    const c = await contact(o, id);
    expect({ contact: id, nextFollowUpAt: c.nextFollowUpAt && utc(c.nextFollowUpAt) }).toEqual({ contact: id, nextFollowUpAt: next });
    const due = next !== null && Date.parse(next) <= endOfTodayUtc() && c.status === 'ACTIVE';
    expect({ contact: id, inHub: (await hubIds(o)).includes(id) }).toEqual({ contact: id, inHub: due });
  };

  describe('the same final call pushed many times at once (SPEC §3, §9)', () => {
    it('should record it once, change the lead once, schedule one follow-up and answer every push accepted or duplicate with the same follow-up, when it comes singly from four keys (three at once from each) and inside two batches', async () => {
      const o = await setup();
      for (let round = 0; round < 4; round++) {
        const id = await newContact(o);
        const other = await newContact(o);
        const scheduledAt = `2031-0${round + 1}-15T09:00:00.000Z`;
        const extra = round % 2 === 0 ? { status: 'Follow up', durationSec: 40, followUp: { scheduledAt } } : { status: 'Rescheduled', durationSec: 40, callbackAt: scheduledAt, reason: 'busy now' };
        const body = callBody(o, id, extra);
        const keys = [o.admin.apiKey, o.dialler.apiKey, o.dialler2.apiKey, o.sue.apiKey];
        const otherBusy = callBody(o, other, { status: 'Busy' });
        const otherNoAnswer = callBody(o, other, { status: 'No Answer' });
        // The batches go in at a different place among the singles each round; one of them holds the call twice.
        type Sent = { calls: Record<string, unknown>[] | null; send: () => Promise<Response> };
        const sent: Sent[] = Array.from({ length: 12 }, (_, i) => ({ calls: null, send: () => post('/api/calls', keys[i % keys.length], body) }));
        const batchA = [otherBusy, body, body];
        const batchB = [body, otherNoAnswer];
        sent.splice(round, 0, { calls: batchA, send: () => post('/api/calls/batch', o.dialler.apiKey, { calls: batchA }) });
        sent.splice(11 - 2 * round, 0, { calls: batchB, send: () => post('/api/calls/batch', o.dialler2.apiKey, { calls: batchB }) });
        const responses = await Promise.all(sent.map((s) => s.send()));

        const singles = responses.filter((_, i) => sent[i].calls === null);
        expect(singles).toHaveLength(12);
        const answers: string[] = [];
        for (const r of singles) {
          expect([r.status, r.body.status]).toEqual(r.status === 201 ? [201, 'accepted'] : [200, 'duplicate']);
          answers.push(r.body.status);
        }
        responses.forEach((b, k) => {
          const calls = sent[k].calls;
          if (calls === null) return;
          expect(b.status).toBe(200);
          (b.body.results as BatchResult[]).forEach((res, i) => {
            if (calls[i].callId === body.callId) {
              expect(['accepted', 'duplicate']).toContain(res.status);
              answers.push(res.status);
            } else {
              expect(res).toMatchObject({ status: 'accepted', callId: calls[i].callId });
            }
          });
        });
        expect(answers.filter((a) => a === 'accepted')).toHaveLength(1);
        expect(answers).toHaveLength(15);

        // what a user sees: one call, one lead change, one follow-up, and every answer names that follow-up
        const fus = await followUpsOf(o, id);
        expect(fus.map((f) => [f.type, f.status, utc(f.scheduledAt), f.source])).toEqual([['call', 'scheduled', scheduledAt, round % 2 === 0 ? 'call_outcome' : 'lead_request']]);
        for (const r of singles) expect(r.body).toEqual({ status: r.body.status, callId: body.callId, contactId: id, leadStatus: 'Followups', followUpId: fus[0].id });
        expect((await callsOf(o, id)).map((c) => [c.callId, c.status, c.live])).toEqual([[body.callId, body.status, false]]);
        const entries = await timeline(o, id);
        expect(entries.map((e) => e.kind)).toEqual(['contact_created', 'call', 'follow_up_scheduled', 'lead_status_changed']);
        expect(entries[3].data).toMatchObject({ from: 'New', to: 'Followups', cause: { kind: 'call', callId: body.callId } });
        expect(await contact(o, id)).toMatchObject({ leadStatus: 'Followups', nextFollowUpAt: scheduledAt, lastCallAt: utc(body.startedAt) });
        expect(await eventsOfCall(o, body.callId)).toEqual({ CallLogged: 1, FollowUpScheduled: 1 });
        // the other contact's two calls went in too, each once
        expect(new Set((await callsOf(o, other)).map((c) => c.callId))).toEqual(new Set([otherBusy.callId, otherNoAnswer.callId]));
        expect((await contact(o, other)).leadStatus).toBe('Not Picked');
      }
      // and across the org: 4 rounds, 3 calls each
      expect((await allCalls(o)).length).toBe(12);
    });
  });

  describe('one callId pushed at once with two different final statuses (SPEC §3, §9)', () => {
    type Send = { status: 'Busy' | 'Called'; key: string; batch: number };
    /**
     * Fires every send at once (batch 0: a single push; batch n: a batch holding the call n times) and checks that one
     * status won: it is the stored call's, every push of it is accepted or duplicate (one accepted in all), every push
     * of the other status is a 409 naming the winner, and the lead moved once, as the winner says.
     */
    const race = async (o: Org, sends: Send[]): Promise<string> => {
      const id = await newContact(o);
      const callId = randomUUID();
      const bodies = {
        Busy: callBody(o, id, { callId, status: 'Busy' }),
        Called: callBody(o, id, { callId, status: 'Called', durationSec: 60, leadStatus: 'Interested' }),
      };
      const responses = await Promise.all(
        sends.map((s) => (s.batch === 0 ? post('/api/calls', s.key, bodies[s.status]) : post('/api/calls/batch', s.key, { calls: Array(s.batch).fill(bodies[s.status]) }))),
      );

      const calls = await callsOf(o, id);
      expect(calls.map((c) => c.callId)).toEqual([callId]);
      const winner = calls[0].status;
      expect(['Busy', 'Called']).toContain(winner);
      // every answer as [what was sent, how, what it says]; the ones of the winner say accepted or duplicate, the others 409
      const seen: [string, string, string][] = [];
      responses.forEach((r, i) => {
        const s = sends[i];
        if (s.batch === 0) {
          if (r.status === 409) {
            expectError(r, 409);
            seen.push([s.status, 'single', `409 ${r.body.message}`]);
          } else {
            expect([r.status, r.body.status]).toEqual(r.status === 201 ? [201, 'accepted'] : [200, 'duplicate']);
            seen.push([s.status, 'single', r.body.status]);
          }
        } else {
          expect(r.status).toBe(200);
          for (const item of r.body.results as BatchResult[]) seen.push([s.status, `batch item ${item.index}`, item.status === 'rejected' ? `${item.statusCode} ${item.error}` : item.status]);
        }
      });
      const refusal = `409 call ${callId} was already logged as ${winner}`;
      const wrong = seen.filter(([sent, , said]) => (sent === winner ? said !== 'accepted' && said !== 'duplicate' : said !== refusal));
      expect({ winner, wrong }).toEqual({ winner, wrong: [] });
      expect(seen.filter(([, , said]) => said === 'accepted')).toHaveLength(1);

      const lead = winner === 'Busy' ? 'Not Picked' : 'Interested';
      expect(calls[0]).toMatchObject({ callId, status: winner, live: false, durationSec: winner === 'Busy' ? 0 : 60 });
      expect((await contact(o, id)).leadStatus).toBe(lead);
      const entries = await timeline(o, id);
      expect(entries.map((e) => e.kind)).toEqual(['contact_created', 'call', 'lead_status_changed']);
      expect(entries[1].data).toMatchObject({ callId, status: winner });
      expect(entries[2].data).toMatchObject({ from: 'New', to: lead, cause: { kind: 'call', callId, callStatus: winner } });
      expect(await eventsOfCall(o, callId)).toEqual({ CallLogged: 1 });
      return winner;
    };

    it('should keep the status of the one that won, answer 409 to every push of the other, and change the lead as the winner says', async () => {
      const o = await setup();
      for (let round = 0; round < 6; round++) {
        // diallers retry: each status several times, singly from two keys and once in a batch
        const sends: Send[] = [
          { status: 'Busy', key: o.dialler.apiKey, batch: 0 },
          { status: 'Called', key: o.dialler2.apiKey, batch: 0 },
          { status: 'Busy', key: o.dialler.apiKey, batch: 0 },
          { status: 'Called', key: o.admin.apiKey, batch: 0 },
          { status: 'Busy', key: o.sue.apiKey, batch: 1 },
          { status: 'Called', key: o.sam.apiKey, batch: 1 },
        ];
        await race(o, round % 2 === 0 ? sends : [...sends].reverse());
      }
    });

    // A burst from one key is written as one group, and a batch may hold the call twice: an item decided on the state
    // its group's earlier item left must not be answered before that item is stored, or it can be answered for a call
    // that the other status won.
    it('should answer every retry of the losing status 409 when each dialler retries in bursts and batches hold the call twice', async () => {
      const o = await setup();
      for (let round = 0; round < 16; round++) {
        const burst = (status: Send['status'], key: string): Send[] => Array.from({ length: 4 }, () => ({ status, key, batch: 0 }));
        const sends: Send[] = [
          ...burst('Busy', o.dialler.apiKey),
          { status: 'Busy', key: o.sue.apiKey, batch: 2 },
          ...burst('Called', o.dialler2.apiKey),
          { status: 'Called', key: o.sam.apiKey, batch: 2 },
          { status: 'Busy', key: o.admin.apiKey, batch: 2 },
          { status: 'Called', key: o.admin.apiKey, batch: 2 },
        ];
        await race(o, round % 2 === 0 ? sends : [...sends].reverse());
      }
    });

    it('should give a callId pushed for two contacts at once to one of them and refuse it with 409 for the other, which keeps no trace of it', async () => {
      const o = await setup();
      for (let round = 0; round < 6; round++) {
        const [a, b] = await Promise.all([newContact(o), newContact(o)]);
        const callId = randomUUID();
        const startedAt = iso(-MINUTE);
        const forA = callBody(o, a, { callId, status: 'No Answer', startedAt });
        const forB = callBody(o, b, { callId, status: 'No Answer', startedAt });
        const batched = round >= 3;
        const send = (body: Record<string, unknown>, key: string) => (batched ? post('/api/calls/batch', key, { calls: [body] }) : post('/api/calls', key, body));
        const [ra, rb] = await Promise.all([send(forA, o.dialler.apiKey), send(forB, o.dialler2.apiKey)]);
        const said = (r: Response) => (batched ? (r.body.results[0].status === 'rejected' ? r.body.results[0].statusCode : r.body.results[0].status) : r.status === 409 ? 409 : r.body.status);
        // logged once, for one of the two
        expect(await eventsOfCall(o, callId)).toEqual({ CallLogged: 1 });
        const owner = (await callsOf(o, a)).length === 1 ? a : b;
        const loserId = owner === a ? b : a;
        const [winner, loser] = owner === a ? [ra, rb] : [rb, ra];
        expect([said(winner), said(loser)]).toEqual(['accepted', 409]);
        expect((await callsOf(o, owner)).map((c) => [c.callId, c.contactId, c.status])).toEqual([[callId, owner, 'No Answer']]);
        expect(await callsOf(o, loserId)).toEqual([]);
        expect((await timeline(o, loserId)).map((e) => e.kind)).toEqual(['contact_created']);
        expect(await contact(o, loserId)).toMatchObject({ leadStatus: 'New', lastCallAt: null });
        expect(await contact(o, owner)).toMatchObject({ leadStatus: 'Not Picked', lastCallAt: utc(startedAt) });
      }
    });
  });

  describe('In-progress and the final status of one call at once (SPEC §3)', () => {
    const variants = [
      { name: 'In-progress first, two keys', order: ['live', 'final'], sameKey: false },
      { name: 'final first, two keys', order: ['final', 'live'], sameKey: false },
      { name: 'In-progress first, one key', order: ['live', 'final'], sameKey: true },
      { name: 'final first, one key', order: ['final', 'live'], sameKey: true },
    ] as const;

    it('should end with one final call that is not live, whichever arrives first', async () => {
      const o = await setup();
      for (let round = 0; round < 3; round++) {
        for (const v of variants) {
          const id = await newContact(o);
          const callId = randomUUID();
          const startedAt = iso(-2 * MINUTE - round * 1000);
          const finalStatus = round % 2 === 0 ? 'No Answer' : 'Called';
          const bodies = {
            live: callBody(o, id, { callId, status: 'In-progress', startedAt }),
            final: callBody(o, id, { callId, status: finalStatus, startedAt, durationSec: finalStatus === 'Called' ? 30 : 0 }),
          };
          const keyOf = (which: 'live' | 'final') => (v.sameKey || which === 'final' ? o.dialler.apiKey : o.dialler2.apiKey);
          const [first, second] = await Promise.all(v.order.map((which) => post('/api/calls', keyOf(which), bodies[which])));
          const answers = { [v.order[0]]: first, [v.order[1]]: second } as Record<'live' | 'final', Response>;

          const entries = await timeline(o, id);
          const startedShown = entries.some((e) => e.kind === 'call_started');
          // the final push is what records the call; In-progress is accepted only if it came first
          expect([answers.final.status, answers.final.body.status]).toEqual([201, 'accepted']);
          expect([v.name, answers.live.status, answers.live.body.status]).toEqual([v.name, ...(startedShown ? [201, 'accepted'] : [200, 'duplicate'])]);
          const lead = finalStatus === 'No Answer' ? 'Not Picked' : 'New';
          expect(entries.map((e) => e.kind)).toEqual(['contact_created', ...(startedShown ? ['call_started'] : []), 'call', ...(lead === 'New' ? [] : ['lead_status_changed'])]);

          expect((await callsOf(o, id)).map((c) => [c.callId, c.status, c.live])).toEqual([[callId, finalStatus, false]]);
          expect(await liveIds(o)).not.toContain(callId);
          expect(await contact(o, id)).toMatchObject({ leadStatus: lead, lastCallAt: utc(startedAt) });
          expect((await eventsOfCall(o, callId)).CallLogged).toBe(1);
        }
      }
    });

    it('should end with one final call when a batch carries In-progress then final while the final status is pushed singly', async () => {
      const o = await setup();
      for (let round = 0; round < 4; round++) {
        const id = await newContact(o);
        const callId = randomUUID();
        const live = callBody(o, id, { callId, status: 'In-progress' });
        const final = callBody(o, id, { callId, status: 'Missed', direction: 'inbound', startedAt: live.startedAt });
        const requests = [() => post('/api/calls/batch', o.dialler.apiKey, { calls: [live, final] }), () => post('/api/calls', o.dialler2.apiKey, final)];
        const [batch, single] = round % 2 === 0 ? await Promise.all(requests.map((r) => r())) : (await Promise.all([...requests].reverse().map((r) => r()))).reverse();
        expect(batch.status).toBe(200);
        const [liveAnswer, finalAnswer] = (batch.body.results as BatchResult[]).map((r) => r.status);
        expect([finalAnswer, single.body.status].sort()).toEqual(['accepted', 'duplicate']);
        expect(single.status).toBe(single.body.status === 'accepted' ? 201 : 200);
        const entries = await timeline(o, id);
        const startedShown = entries.some((e) => e.kind === 'call_started');
        expect(liveAnswer).toBe(startedShown ? 'accepted' : 'duplicate');
        expect((await callsOf(o, id)).map((c) => [c.callId, c.status, c.live])).toEqual([[callId, 'Missed', false]]);
        expect(await liveIds(o)).not.toContain(callId);
        expect((await contact(o, id)).leadStatus).toBe('Missed');
        expect((await eventsOfCall(o, callId)).CallLogged).toBe(1);
      }
    });
  });

  describe('two batches sharing contacts (SPEC §4, §6, §9)', () => {
    it("should accept every item, store every call once and leave each contact's lead status, lastCallAt and nextFollowUpAt as its calls in stream order say", async () => {
      const o = await setup();
      const ids = await Promise.all(Array.from({ length: 20 }, () => newContact(o)));
      type Pushed = { callId: string; contactId: string; status: string; startedAt: string; endedAt?: string; leadStatus?: LeadStatus; nextCallAt?: string };
      const pushed = new Map<string, Pushed>();
      const random = seeded(20_240_601);
      const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
      const future = () => new Date(Date.UTC(2031, 0, 1) + Math.floor(random() * 300) * DAY + Math.floor(random() * 24) * HOUR).toISOString();

      const item = (contactId: string) => {
        const startedAt = new Date(Date.now() - Math.floor(random() * 10 * DAY) - 1000).toISOString();
        const kind = pick(['Called', 'Called', 'Busy', 'No Answer', 'Missed', 'Follow up', 'Follow up sms', 'Rescheduled'] as const);
        const base = callBody(o, contactId, { startedAt });
        let body: Record<string, unknown>;
        let record: Pushed = { callId: base.callId, contactId, status: kind, startedAt };
        switch (kind) {
          case 'Called': {
            const leadStatus = pick([undefined, 'Interested', 'Not Interested', 'Followups'] as const);
            body = { ...base, status: 'Called', durationSec: 20, ...(leadStatus ? { leadStatus } : {}) };
            record = { ...record, leadStatus };
            break;
          }
          case 'Missed':
            body = { ...base, status: 'Missed', direction: 'inbound' };
            break;
          case 'Follow up': {
            const scheduledAt = future();
            body = { ...base, status: 'Follow up', durationSec: 30, followUp: { scheduledAt } };
            record = { ...record, nextCallAt: scheduledAt };
            break;
          }
          case 'Follow up sms':
            // an sms follow-up is never the contact's next (call) follow-up
            body = { ...base, status: 'Follow up', durationSec: 30, followUp: { type: 'sms', message: 'see you', scheduledAt: '2030-06-01T00:00:00.000Z' } };
            record = { ...record, status: 'Follow up' };
            break;
          case 'Rescheduled': {
            const callbackAt = future();
            body = { ...base, status: 'Rescheduled', durationSec: 15, callbackAt };
            record = { ...record, nextCallAt: callbackAt };
            break;
          }
          default:
            body = { ...base, status: kind };
        }
        pushed.set(record.callId, { ...record, endedAt: new Date(Date.parse(startedAt) + Number(body.durationSec ?? 0) * 1000).toISOString() });
        return body;
      };

      for (let round = 0; round < 3; round++) {
        // interleaved: A walks the contacts forwards, B backwards, three passes each
        const a: Record<string, unknown>[] = [];
        const b: Record<string, unknown>[] = [];
        for (let pass = 0; pass < 3; pass++) {
          for (let k = 0; k < ids.length; k++) {
            a.push(item(ids[k]));
            b.push(item(ids[ids.length - 1 - k]));
          }
        }
        const [ra, rb] = await Promise.all([post('/api/calls/batch', o.dialler.apiKey, { calls: a }), post('/api/calls/batch', o.dialler2.apiKey, { calls: b })]);
        for (const [sent, res] of [
          [a, ra],
          [b, rb],
        ] as const) {
          expect(res.status).toBe(200);
          const notAccepted = (res.body.results as BatchResult[]).filter((r) => r.status !== 'accepted');
          expect(notAccepted).toEqual([]);
          expect(res.body.results.map((r: BatchResult) => r.index)).toEqual(sent.map((_, i) => i));
        }
      }

      // every call once, in the org's list and in its contact's
      const listed = await allCalls(o);
      expect(listed.length).toBe(pushed.size);
      expect(new Set(listed.map((c) => c.callId))).toEqual(new Set(pushed.keys()));
      for (const c of listed) expect([c.callId, c.contactId, c.status]).toEqual([c.callId, pushed.get(c.callId)!.contactId, pushed.get(c.callId)!.status]);

      for (const id of ids) {
        const entries = await timeline(o, id);
        const calls = entries.filter((e) => e.kind === 'call');
        const mine = [...pushed.values()].filter((p) => p.contactId === id);
        expect(calls.map((e) => e.data.callId).sort()).toEqual(mine.map((p) => p.callId).sort());

        // SPEC §4 over the calls in stream order: the lead status, and each change the timeline shows. The last call
        // decides: one that ended before the latest logged so far leaves the status, but for a call follow-up it
        // schedules (the last row)
        let lead: LeadStatus = 'New';
        let latest = '';
        const expectedChanges: [string, LeadStatus, LeadStatus][] = [];
        for (const e of calls) {
          const p = pushed.get(e.data.callId)!;
          const next: LeadStatus = p.endedAt! >= latest ? leadAfter(lead, p) : p.nextCallAt ? 'Followups' : lead;
          if (p.endedAt! > latest) latest = p.endedAt!;
          if (next !== lead) expectedChanges.push([p.callId, lead, next]);
          lead = next;
        }
        const changes = entries.filter((e) => e.kind === 'lead_status_changed').map((e) => [e.data.cause.callId, e.data.from, e.data.to]);
        expect({ contact: id, changes }).toEqual({ contact: id, changes: expectedChanges });

        const lastCallAt = mine.map((p) => utc(p.startedAt)).sort().at(-1)!;
        const calls_ = mine.filter((p) => p.nextCallAt).map((p) => utc(p.nextCallAt!)).sort();
        const c = await contact(o, id);
        expect({ contact: id, leadStatus: c.leadStatus, lastCallAt: c.lastCallAt && utc(c.lastCallAt), nextFollowUpAt: c.nextFollowUpAt && utc(c.nextFollowUpAt) }).toEqual({
          contact: id,
          leadStatus: lead,
          lastCallAt,
          nextFollowUpAt: calls_[0] ?? null,
        });
        // one follow-up per Follow up / Rescheduled push, none doubled
        const fus = await followUpsOf(o, id);
        expect(fus).toHaveLength(mine.filter((p) => p.status === 'Follow up' || p.status === 'Rescheduled').length);
        await expectContactAgreesWithFollowUps(o, id);
      }
    });
  });

  describe('two supervisors changing one contact at once (SPEC §2, §4)', () => {
    it('should keep both changes when they change different fields', async () => {
      const o = await setup();
      for (let round = 0; round < 4; round++) {
        const id = await newContact(o, { tags: ['old'] });
        const name = `Sarah Lee-${round}`;
        const phone = nextPhone();
        const [r1, r2] = await Promise.all([
          patch(`/api/contacts/${id}`, o.sue.apiKey, { name, tags: ['vip', `r${round}`] }),
          patch(`/api/contacts/${id}`, o.sam.apiKey, { phone, leadQuality: 'HOT' }),
        ]);
        expect([r1.status, r2.status]).toEqual([200, 200]);
        // each answer shows its own change (and the other's, if it came first)
        expect(r1.body).toMatchObject({ name, tags: ['vip', `r${round}`] });
        expect(r2.body).toMatchObject({ phone, leadQuality: 'HOT' });
        expect(await contact(o, id)).toMatchObject({ name, tags: ['vip', `r${round}`], phone, leadQuality: 'HOT' });
        const entries = (await timeline(o, id)).filter((e) => e.kind !== 'contact_created');
        expect(entries.map((e) => [e.kind, e.actorId]).sort()).toEqual(
          [
            ['contact_updated', o.sue.id],
            ['contact_updated', o.sam.id],
            ['lead_quality_changed', o.sam.id],
          ].sort(),
        );
      }
    });

    it('should end with one of the two values when they change the same fields, the timeline showing both in the order the final value implies', async () => {
      const o = await setup();
      for (let round = 0; round < 4; round++) {
        const id = await newContact(o);
        const sue = { name: `Alpha ${round}`, leadStatus: 'Interested', leadQuality: 'HOT' };
        const sam = { name: `Beta ${round}`, leadStatus: 'Not Interested', leadQuality: 'COLD' };
        const [rSue, rSam] = await Promise.all([patch(`/api/contacts/${id}`, o.sue.apiKey, sue), patch(`/api/contacts/${id}`, o.sam.apiKey, sam)]);
        expect([rSue.status, rSam.status]).toEqual([200, 200]);

        const final = await contact(o, id);
        const [last, firstWriter] = final.name === sue.name ? [o.sue, o.sam] : [o.sam, o.sue];
        const [lastBody, firstBody] = last === o.sue ? [sue, sam] : [sam, sue];
        // a PATCH is one append: the last writer's values are all kept together, none mixed in from the other
        expect(final).toMatchObject(lastBody);
        // and the last writer was answered with what it wrote
        expect((last === o.sue ? rSue : rSam).body).toMatchObject(lastBody);

        const entries = (await timeline(o, id)).filter((e) => e.kind !== 'contact_created');
        expect(entries.map((e) => [e.actorId, e.kind])).toEqual([
          [firstWriter.id, 'contact_updated'],
          [firstWriter.id, 'lead_quality_changed'],
          [firstWriter.id, 'lead_status_changed'],
          [last.id, 'contact_updated'],
          [last.id, 'lead_quality_changed'],
          [last.id, 'lead_status_changed'],
        ]);
        expect(entries.map((e) => e.data.changes?.name ?? [e.data.from, e.data.to])).toEqual([
          firstBody.name,
          ['WARM', firstBody.leadQuality],
          ['New', firstBody.leadStatus],
          lastBody.name,
          [firstBody.leadQuality, lastBody.leadQuality],
          [firstBody.leadStatus, lastBody.leadStatus],
        ]);
      }
    });

    it('should keep the lead status chain unbroken when a supervisor sets the lead status while a dialler pushes a call', async () => {
      const o = await setup();
      for (let round = 0; round < 4; round++) {
        const id = await newContact(o);
        const call = callBody(o, id, { status: 'Busy' });
        const requests = [() => patch(`/api/contacts/${id}`, o.sue.apiKey, { leadStatus: 'Interested' }), () => post('/api/calls', o.dialler.apiKey, call)];
        const [rPatch, rCall] = round % 2 === 0 ? await Promise.all(requests.map((r) => r())) : (await Promise.all([...requests].reverse().map((r) => r()))).reverse();
        expect([rPatch.status, rCall.status, rCall.body.status]).toEqual([200, 201, 'accepted']);
        // Busy leaves a spoken-to lead as it is, and a manual change wins over Not Picked: Interested either way
        expect((await contact(o, id)).leadStatus).toBe('Interested');
        const entries = await timeline(o, id);
        const changes = entries.filter((e) => e.kind === 'lead_status_changed').map((e) => e.data as { from: string; to: string; cause: { kind: string } });
        const callFirst = entries.findIndex((e) => e.kind === 'call') < entries.findIndex((e) => e.kind === 'lead_status_changed' && e.data.cause.kind === 'manual');
        expect(changes.map((c) => [c.cause.kind, c.from, c.to])).toEqual(
          callFirst
            ? [
                ['call', 'New', 'Not Picked'],
                ['manual', 'Not Picked', 'Interested'],
              ]
            : [['manual', 'New', 'Interested']],
        );
        // the call's answer describes the lead it left
        expect(rCall.body.leadStatus).toBe(callFirst ? 'Not Picked' : 'Interested');
      }
    });
  });

  describe('one follow-up acted on by several users at once (SPEC §5, §6, §9)', () => {
    it('should answer each action 200 or 409 (400 for a bad time), and end in the state exactly the successful ones lead to', async () => {
      const o = await setup();
      for (let round = 0; round < 5; round++) {
        const id = await newContact(o);
        // due ten minutes ago: in the agent's hub before the race
        const scheduled = await post(`/api/contacts/${id}/follow-ups`, o.admin.apiKey, { scheduledAt: iso(-10 * MINUTE) });
        expect(scheduled.status).toBe(201);
        const fuId: string = scheduled.body.id;
        expect(await hubIds(o)).toContain(id);

        // each (action, user) once, so every event can be told apart by its kind and actor
        const actions: { action: Action; user: User; body?: Record<string, unknown> }[] = [
          { action: 'snooze', user: o.ana },
          { action: 'complete', user: o.admin },
          { action: 'complete', user: o.ana },
          { action: 'cancel', user: o.sue },
          { action: 'cancel', user: o.sam },
          { action: 'reschedule', user: o.sue, body: { scheduledAt: iso(-2 * HOUR) } },
          { action: 'reschedule', user: o.sam, body: { scheduledAt: iso(-3 * HOUR) } },
        ];
        const shift = (round * 3) % actions.length;
        const fired = [...actions.slice(shift), ...actions.slice(0, shift)];
        const bad = () => post(`/api/follow-ups/${fuId}/reschedule`, o.admin.apiKey, { scheduledAt: 'tomorrow' });
        const [badAnswer, ...answers] = await Promise.all([bad(), ...fired.map((a) => post(`/api/follow-ups/${fuId}/${a.action}`, a.user.apiKey, a.body ?? {}))]);

        expectError(badAnswer, 400);
        for (const r of answers) expect([200, 409]).toContain(r.status);

        const final = await followUp(o, fuId);
        const events = (await timeline(o, id)).filter((e) => e.data.followUpId === fuId && Object.values(ACTION_KIND).includes(e.kind as never));
        // exactly the actions answered 200 left an event (by their user), no more
        const succeeded = fired.filter((_, i) => answers[i].status === 200).map((a) => [ACTION_KIND[a.action], a.user.id].join(' '));
        expect(events.map((e) => [e.kind, e.actorId].join(' ')).sort()).toEqual(succeeded.sort());
        // one ending, and it is the last thing that happened to the follow-up
        const endings = events.filter((e) => e.kind === 'follow_up_completed' || e.kind === 'follow_up_cancelled');
        expect(endings).toHaveLength(1);
        expect(events.at(-1)).toBe(endings[0]);
        const endedAs = endings[0].kind === 'follow_up_completed' ? 'completed' : 'cancelled';
        expect(final).toMatchObject({ status: endedAs, resolvedAt: expect.any(String) });
        // the one that ended it was answered with the ended follow-up; every refusal names the status it found
        const ender = fired.findIndex((a) => ACTION_KIND[a.action] === endings[0].kind && a.user.id === endings[0].actorId);
        expect(answers[ender].body).toMatchObject({ id: fuId, status: endedAs });
        for (const r of answers.filter((a) => a.status === 409)) {
          expectError(r, 409);
          expect(r.body.message).toBe(`follow-up ${fuId} is ${endedAs}`);
        }
        // a snooze or reschedule that succeeded came before the ending; its due time is what the follow-up kept
        const lastMove = events.filter((e) => e.kind === 'follow_up_snoozed' || e.kind === 'follow_up_rescheduled').at(-1);
        expect(utc(final.scheduledAt)).toBe(lastMove ? utc(lastMove.data.until ?? lastMove.data.scheduledAt) : utc(scheduled.body.scheduledAt));
        // ended: off the hub, no next follow-up
        expect((await contact(o, id)).nextFollowUpAt).toBeNull();
        expect(await hubIds(o)).not.toContain(id);
        await expectContactAgreesWithFollowUps(o, id);
      }
    });
  });

  describe("the hub's done or snooze while the dialler pushes a call for the contact (SPEC §5, §6)", () => {
    const variants = [
      { name: 'done + a connected call for the follow-up', action: 'done', call: 'connected' },
      { name: 'snooze + a Busy call for the follow-up', action: 'snooze', call: 'busy' },
      { name: 'done + a Follow up call scheduling the next one', action: 'done', call: 'follow up' },
      { name: 'snooze + a Follow up call scheduling the next one', action: 'snooze', call: 'follow up' },
    ] as const;

    it('should leave the follow-up, the contact and the hub agreeing with each other and with the answers', async () => {
      const o = await setup();
      for (let round = 0; round < 2; round++) {
        for (const v of variants) {
          const id = await newContact(o);
          const scheduled = await post(`/api/contacts/${id}/follow-ups`, o.admin.apiKey, { scheduledAt: iso(-5 * MINUTE) });
          expect(scheduled.status).toBe(201);
          const fuId: string = scheduled.body.id;
          expect(await hubIds(o)).toContain(id);

          const nextAt = `2031-02-0${round + 1}T10:00:00.000Z`;
          const call =
            v.call === 'connected'
              ? callBody(o, id, { status: 'Called', durationSec: 45, followUpId: fuId })
              : v.call === 'busy'
                ? callBody(o, id, { status: 'Busy', followUpId: fuId })
                : callBody(o, id, { status: 'Follow up', durationSec: 45, followUp: { scheduledAt: nextAt } });
          const requests = [() => patch(HUB, o.ana.apiKey, { personId: id, action: v.action }), () => post('/api/calls', o.dialler.apiKey, call)];
          const [hubAnswer, callAnswer] = round % 2 === 0 ? await Promise.all(requests.map((r) => r())) : (await Promise.all([...requests].reverse().map((r) => r()))).reverse();

          expect([v.name, callAnswer.status, callAnswer.body.status]).toEqual([v.name, 201, 'accepted']);
          expect(hubAnswer.status).toBe(200);
          expect(hubAnswer.body).toEqual({ ok: true, count: expect.any(Number), action: v.action });
          expect([0, 1]).toContain(hubAnswer.body.count);

          const entries = await timeline(o, id);
          const ofFu = ofFollowUp(entries, fuId);
          const byHub = ofFu.filter((e) => e.actorId === o.ana.id && (e.kind === 'follow_up_completed' || e.kind === 'follow_up_snoozed'));
          // the hub's count says whether it changed the contact, and the timeline agrees
          expect([v.name, byHub.length]).toEqual([v.name, hubAnswer.body.count]);
          expect(entries.filter((e) => e.kind === 'call').map((e) => e.data.callId)).toEqual([call.callId]);

          const fu = await followUp(o, fuId);
          const endings = ofFu.filter((e) => ['follow_up_completed', 'follow_up_attempt_succeeded', 'follow_up_cancelled', 'follow_up_expired'].includes(e.kind));
          expect(endings.length).toBeLessThanOrEqual(1);
          if (v.action === 'done') {
            // done or a connected call: completed once, by one of them
            expect([v.name, fu.status, endings.length]).toEqual([v.name, 'completed', 1]);
            if (v.call === 'connected') expect(endings[0].kind).toBe(hubAnswer.body.count === 1 ? 'follow_up_completed' : 'follow_up_attempt_succeeded');
          } else if (endings.length === 1) {
            // snooze lost to a call that ended the attempt the worker had opened (a Follow up call names no follow-up, so
            // it ends the open one): then the hub found nothing left to snooze
            expect([v.name, v.call, endings[0].kind, endings[0].data.callId, fu.status, hubAnswer.body.count]).toEqual([v.name, 'follow up', 'follow_up_attempt_succeeded', call.callId, 'completed', 0]);
          } else {
            // snooze: the follow-up stays open and was pushed out past today
            expect(OPEN).toContain(fu.status);
            expect(byHub.map((e) => e.kind)).toEqual(['follow_up_snoozed']);
            expect(Date.parse(fu.scheduledAt)).toBeGreaterThan(Date.now() + 2 * DAY);
            expect(utc(fu.scheduledAt)).toBe(utc(byHub[0].data.until));
            if (v.call === 'busy') {
              // Before the snooze, the Busy call counted as a failed attempt of it; after it, the call spent nothing
              // and did not bring the next attempt forward: either way it stays snoozed until the time the agent chose.
              const inOrder = entries.map((e) => (e.kind === 'call' ? `call ${e.data.callId}` : e.kind)); // oldest first
              const snoozedFirst = inOrder.indexOf('follow_up_snoozed') < inOrder.indexOf(`call ${call.callId}`);
              expect(ofFu.filter((e) => e.kind === 'follow_up_attempt_failed').map((e) => e.data.callId)).toEqual(snoozedFirst ? [] : [call.callId]);
              expect(fu).toMatchObject({ status: 'snoozed', nextAttemptAt: fu.scheduledAt });
            }
          }
          if (v.call === 'follow up') {
            const next = (await followUpsOf(o, id)).filter((f) => f.id !== fuId);
            expect(next.map((f) => [f.status, utc(f.scheduledAt)])).toEqual([['scheduled', nextAt]]);
            expect(callAnswer.body.followUpId).toBe(next[0].id);
            expect((await contact(o, id)).leadStatus).toBe('Followups');
          }
          expect(await hubIds(o)).not.toContain(id);
          await expectContactAgreesWithFollowUps(o, id);
        }
      }
    });
  });

  describe("a contact's next follow-up while its follow-ups change from every side at once (SPEC §5, §6)", () => {
    it('should keep nextFollowUpAt the earliest open call follow-up when follow-ups are scheduled, cancelled, rescheduled and pushed by calls together', async () => {
      const o = await setup();
      const random = seeded(7);
      const at = () => new Date(Date.UTC(2031, 0, 1) + Math.floor(random() * 200) * DAY + Math.floor(random() * 24) * HOUR).toISOString();
      for (let round = 0; round < 8; round++) {
        const id = await newContact(o);
        // two open follow-ups to begin with: the earliest is cancelled or moved while new ones arrive
        const first = await post(`/api/contacts/${id}/follow-ups`, o.admin.apiKey, { scheduledAt: '2030-12-01T00:00:00.000Z' });
        const second = await post(`/api/contacts/${id}/follow-ups`, o.admin.apiKey, { scheduledAt: '2030-12-02T00:00:00.000Z' });
        expect([first.status, second.status]).toEqual([201, 201]);
        const requests = [
          () => post(`/api/follow-ups/${first.body.id}/cancel`, o.sue.apiKey, {}),
          () => post(`/api/follow-ups/${second.body.id}/reschedule`, o.sam.apiKey, { scheduledAt: at() }),
          () => post(`/api/contacts/${id}/follow-ups`, o.admin.apiKey, { scheduledAt: at() }),
          () => post(`/api/contacts/${id}/follow-ups`, o.sue.apiKey, { scheduledAt: at(), type: 'sms', message: 'hello' }),
          () => post('/api/calls', o.dialler.apiKey, callBody(o, id, { status: 'Rescheduled', durationSec: 20, callbackAt: at() })),
          () => post('/api/calls', o.dialler2.apiKey, callBody(o, id, { status: 'Follow up', durationSec: 20, followUp: { scheduledAt: at() } })),
          () => post('/api/calls/batch', o.admin.apiKey, { calls: [callBody(o, id, { status: 'Rescheduled', durationSec: 20, callbackAt: at() }), callBody(o, id, { status: 'Busy' })] }),
        ];
        const shift = round % requests.length;
        const answers = await Promise.all([...requests.slice(shift), ...requests.slice(0, shift)].map((r) => r()));
        for (const r of answers) expect([200, 201]).toContain(r.status);
        for (const r of answers) if (r.body.results) expect(r.body.results.map((x: BatchResult) => x.status)).toEqual(['accepted', 'accepted']);
        expect((await followUp(o, first.body.id)).status).toBe('cancelled');
        // 2 to begin with, 2 scheduled by hand, 3 by calls
        expect(await followUpsOf(o, id)).toHaveLength(7);
        await expectContactAgreesWithFollowUps(o, id);
        expect((await contact(o, id)).leadStatus).toBe('Followups');
      }
    });
  });

  describe("the hub's bulk done while a dialler batch pushes calls for the same contacts (SPEC §5, §6)", () => {
    it('should leave every contact with its follow-ups, nextFollowUpAt and hub place in agreement, and the count with what the hub did', async () => {
      const o = await setup();
      for (let round = 0; round < 3; round++) {
        const ids = await Promise.all(Array.from({ length: 12 }, () => newContact(o)));
        const fuIds = new Map<string, string>();
        for (const id of ids) {
          const res = await post(`/api/contacts/${id}/follow-ups`, o.admin.apiKey, { scheduledAt: iso(-HOUR) });
          expect(res.status).toBe(201);
          fuIds.set(id, res.body.id);
        }
        // per contact, one of: a connected call for its follow-up, a Busy one for it, a call scheduling the next one
        const calls = ids.map((id, k) =>
          k % 3 === 0
            ? callBody(o, id, { status: 'Called', durationSec: 30, followUpId: fuIds.get(id) })
            : k % 3 === 1
              ? callBody(o, id, { status: 'Busy', followUpId: fuIds.get(id) })
              : callBody(o, id, { status: 'Follow up', durationSec: 30, followUp: { scheduledAt: `2031-03-${String(k + 1).padStart(2, '0')}T10:00:00.000Z` } }),
        );
        const requests = [() => patch(HUB, o.ana.apiKey, { personIds: ids, action: 'done' }), () => post('/api/calls/batch', o.dialler.apiKey, { calls })];
        const [hubAnswer, batch] = round % 2 === 0 ? await Promise.all(requests.map((r) => r())) : (await Promise.all([...requests].reverse().map((r) => r()))).reverse();
        expect(batch.status).toBe(200);
        expect(batch.body.results.map((r: BatchResult) => r.status)).toEqual(Array(ids.length).fill('accepted'));
        expect({ status: hubAnswer.status, body: hubAnswer.body }).toEqual({ status: 200, body: { ok: true, count: expect.any(Number), action: 'done' } });

        let doneByHub = 0;
        for (const id of ids) {
          const fuId = fuIds.get(id)!;
          const ofFu = ofFollowUp(await timeline(o, id), fuId);
          const byHub = ofFu.filter((e) => e.kind === 'follow_up_completed' && e.actorId === o.ana.id);
          doneByHub += byHub.length;
          // done or a connected call ends it (a Busy call alone would leave it open, but done follows or precedes it):
          // once, and as the last thing that happened to it
          const endings = ofFu.filter((e) => e.kind === 'follow_up_completed' || e.kind === 'follow_up_attempt_succeeded');
          expect(endings).toHaveLength(1);
          expect(ofFu.at(-1)).toBe(endings[0]);
          expect((await followUp(o, fuId)).status).toBe('completed');
          await expectContactAgreesWithFollowUps(o, id);
        }
        expect(hubAnswer.body.count).toBe(doneByHub);
        const hub = await hubIds(o);
        for (const id of ids) expect(hub).not.toContain(id);
      }
    });
  });

  describe('the hub acted on twice at once (SPEC §6)', () => {
    it('should change each contact once when an agent double-clicks, or clicks done and snooze at once, the counts adding up to that', async () => {
      const o = await setup();
      const pairs = [
        ['done', 'done'],
        ['snooze', 'snooze'],
        ['done', 'snooze'],
        ['snooze', 'done'],
      ] as const;
      for (let round = 0; round < 2; round++) {
        for (const pair of pairs) {
          // two contacts due, acted on together (the bulk bar) by both clicks
          const ids = await Promise.all([newContact(o), newContact(o)]);
          const fuIds: string[] = [];
          for (const id of ids) {
            const res = await post(`/api/contacts/${id}/follow-ups`, o.admin.apiKey, { scheduledAt: iso(-(round + 1) * HOUR) });
            expect(res.status).toBe(201);
            fuIds.push(res.body.id);
          }
          const answers = await Promise.all(pair.map((action) => patch(HUB, o.ana.apiKey, { personIds: ids, action })));
          for (const [i, r] of answers.entries()) expect({ status: r.status, body: r.body }).toEqual({ status: 200, body: { ok: true, count: expect.any(Number), action: pair[i] } });
          // each contact is changed once, by whichever click reached it first (a bulk action answers per contact, it is
          // not all-or-nothing), and the counts add up to exactly that
          const appliedTo: string[] = [];
          for (const [k, id] of ids.entries()) {
            const byHub = ofFollowUp(await timeline(o, id), fuIds[k]).filter((e) => e.actorId === o.ana.id);
            expect(byHub.map((e) => e.kind)).toEqual([expect.stringMatching(/^follow_up_(completed|snoozed)$/)]);
            const applied = byHub[0].kind === 'follow_up_completed' ? 'done' : 'snooze';
            appliedTo.push(applied);
            const fu = await followUp(o, fuIds[k]);
            expect(fu.status).toBe(applied === 'done' ? 'completed' : 'snoozed');
            if (applied === 'snooze') expect(utc(fu.scheduledAt)).toBe(utc(byHub[0].data.until));
            await expectContactAgreesWithFollowUps(o, id);
          }
          expect(answers[0].body.count + answers[1].body.count).toBe(ids.length);
          if (pair[0] !== pair[1]) for (const [i, action] of pair.entries()) expect([action, answers[i].body.count]).toEqual([action, appliedTo.filter((x) => x === action).length]);
          else expect(appliedTo).toEqual([pair[0], pair[0]]);
          const hub = await hubIds(o);
          for (const id of ids) expect(hub).not.toContain(id);
        }
      }
    });

    it("should not let an agent's done reach a contact a supervisor reassigned to someone else first", async () => {
      const o = await setup();
      for (let round = 0; round < 12; round++) {
        const id = await newContact(o);
        const scheduled = await post(`/api/contacts/${id}/follow-ups`, o.admin.apiKey, { scheduledAt: iso(-HOUR) });
        expect(scheduled.status).toBe(201);
        const fuId: string = scheduled.body.id;
        expect(await hubIds(o)).toContain(id);

        const requests = [() => patch(HUB, o.ana.apiKey, { personId: id, action: 'done' }), () => patch(`/api/contacts/${id}`, o.sue.apiKey, { assignedAgentId: o.bob.id })];
        const [hubAnswer, reassigned] = round % 2 === 0 ? await Promise.all(requests.map((r) => r())) : (await Promise.all([...requests].reverse().map((r) => r()))).reverse();
        expect(reassigned.status).toBe(200);
        expect(reassigned.body.assignedAgentId).toBe(o.bob.id);
        // Ana's click counts only if it landed while the contact was still hers; after the reassignment she has no say
        expect([200, 404]).toContain(hubAnswer.status);
        if (hubAnswer.status === 404) expectError(hubAnswer, 404);
        const entries = await timeline(o, id);
        const reassignedAt = entries.findIndex((e) => e.kind === 'reassigned');
        const completedAt = entries.findIndex((e) => e.kind === 'follow_up_completed');
        const count = hubAnswer.status === 200 ? hubAnswer.body.count : 0;
        expect({ count, completedByAna: completedAt >= 0 && entries[completedAt].actorId === o.ana.id }).toEqual({ count, completedByAna: count === 1 });
        if (completedAt >= 0) expect({ round, completedBeforeReassignment: completedAt < reassignedAt }).toEqual({ round, completedBeforeReassignment: true });
        // and what each agent sees agrees: the contact is Bob's, due in his hub only while its follow-up is open
        const fu = await followUp(o, fuId);
        expect(fu.status).toEqual(count === 1 ? 'completed' : expect.stringMatching(/^(scheduled|queued)$/));
        expect(await hubIds(o)).not.toContain(id);
        expect((await hubIds(o, o.bob)).includes(id)).toBe(count === 0);
      }
    });
  });

  describe("an agent working a contact while a supervisor hands it to another agent (SPEC §9: agents change only their assigned contacts)", () => {
    it('should either apply the agent\'s change before the reassignment or refuse it with 404, never after', async () => {
      const o = await setup();
      const actions = ['complete', 'snooze', 'note', 'schedule', 'patch'] as const;
      for (let round = 0; round < 4; round++) {
        for (const action of actions) {
          const id = await newContact(o);
          const scheduled = await post(`/api/contacts/${id}/follow-ups`, o.admin.apiKey, { scheduledAt: iso(2 * HOUR) });
          expect(scheduled.status).toBe(201);
          const fuId: string = scheduled.body.id;
          const byAgent: Record<(typeof actions)[number], () => Promise<Response>> = {
            complete: () => post(`/api/follow-ups/${fuId}/complete`, o.ana.apiKey, {}),
            snooze: () => post(`/api/follow-ups/${fuId}/snooze`, o.ana.apiKey, {}),
            note: () => post(`/api/contacts/${id}/notes`, o.ana.apiKey, { text: 'called back, no answer' }),
            schedule: () => post(`/api/contacts/${id}/follow-ups`, o.ana.apiKey, { scheduledAt: iso(3 * HOUR) }),
            patch: () => patch(`/api/contacts/${id}`, o.ana.apiKey, { tags: ['ana-was-here'] }),
          };
          const requests = [byAgent[action], () => patch(`/api/contacts/${id}`, o.sue.apiKey, { assignedAgentId: o.bob.id })];
          const [agentAnswer, reassigned] = round % 2 === 0 ? await Promise.all(requests.map((r) => r())) : (await Promise.all([...requests].reverse().map((r) => r()))).reverse();
          expect(reassigned.status).toBe(200);
          expect([200, 201, 404]).toContain(agentAnswer.status);

          const entries = await timeline(o, id);
          const reassignedAt = entries.findIndex((e) => e.kind === 'reassigned');
          const byAna = entries.map((e, i) => [e, i] as const).filter(([e]) => e.actorId === o.ana.id);
          // what Ana was told agrees with what the timeline holds: her change is there (before the hand-over) or not at all
          expect({ action, answered: agentAnswer.status, applied: byAna.length > 0 }).toEqual({ action, answered: agentAnswer.status, applied: agentAnswer.status !== 404 });
          for (const [e, i] of byAna) expect({ action, kind: e.kind, beforeReassignment: i < reassignedAt }).toEqual({ action, kind: e.kind, beforeReassignment: true });
          if (agentAnswer.status === 404) expectError(agentAnswer, 404);
        }
      }
    });
  });

  describe('the same contact created several times at once (SPEC §9)', () => {
    it('should create one contact per request, each readable, since creation carries no idempotency key', async () => {
      const o = await setup();
      const body = { name: 'Twin Lead', phone: '+14155550199', assignedAgentId: o.ana.id, tags: ['twin'], leadQuality: 'HOT' };
      const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => post('/api/contacts', [o.admin.apiKey, o.sue.apiKey][i % 2], body)));
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(201));
      const ids = responses.map((r) => r.body.id as string);
      expect(new Set(ids).size).toBe(10);
      for (const r of responses) {
        expect(r.body).toMatchObject({ ...body, leadStatus: 'New', status: 'ACTIVE' });
        expect(await contact(o, r.body.id)).toEqual(r.body);
        expect((await timeline(o, r.body.id)).map((e) => e.kind)).toEqual(['contact_created']);
      }
      const listed = await get('/api/contacts?q=Twin&limit=50', o.admin.apiKey);
      expect(listed.status).toBe(200);
      expect(listed.body.contacts.map((c: Contact) => c.id).sort()).toEqual([...ids].sort());
      // the agent they are assigned to sees all of them too
      const mine = await get('/api/contacts?limit=50', o.ana.apiKey);
      expect(mine.body.contacts.map((c: Contact) => c.id).sort()).toEqual([...ids].sort());
    });
  });
});
