import { Injectable } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  Actor,
  Clock,
  ConflictError,
  Database,
  DomainError,
  FieldProblem,
  fieldProblem,
  ForbiddenError,
  groupBy,
  mergeProblems,
  NotFoundError,
  problemsOf,
  TrustCache,
  ValidationError,
  withEveryProblem,
} from '@app/shared';
import { AppendRequest, ConcurrencyError, EventStore } from '@app/event-store';
import { outboundUrlProblem } from '@app/settings';
import { UserRepository } from '@app/tenancy';
import {
  contactDecider,
  ContactEvent,
  ContactState,
  contactStream,
  FOLLOW_UP_DEFAULTS,
  FollowUpInput,
  FollowUpScheduled,
  LeadStatus,
  LeadStatusChanged,
  LogCall,
  ANY_FOLLOW_UP_ID,
  logCallProblems,
  UNKNOWN_FOLLOW_UP,
} from '../domain';
import { uuidFromKey } from '../ids';
import { ContactStateCache } from '../contact-state.cache';
import { ContactsRepository } from '../contacts.repository';
import { CallPush, CallPushResult, FollowUpFields } from './call-push';

const DAY_MS = 24 * 3600_000;
const HOUR_MS = 3600_000;
const MAX_ROUNDS = 5;
const DEFAULT_RETRY_DELAY_SECONDS = 900;
/** Contacts decided between two turns of the event loop, so a 1,000-call batch does not hold other requests. */
const CONTACTS_PER_TURN = 64;
/** SQLSTATE of migration 0020: a call's row would move to another contact. */
const CALL_OF_ANOTHER_CONTACT = 'CL409';
const callOfAnotherContact = (callId: string) => new ConflictError(`call ${callId} was logged for another contact`);

export type ItemOutcome = { ok: CallPushResult } | { error: DomainError | Error };

type Loaded = Map<string, { state: ContactState; version: number }>;

interface References {
  staff: Set<string>;
  /**
   * The deactivated agents among those the pushes name (users of the org, not integrations). A push of a call the
   * contact already has (a dialler's retry, or the final status of an In-progress call) may name one: SPEC §1 lets a
   * dialler retry freely, and the call was taken while they were active. Never cached: a lookup with such an id is
   * rare, and each one asks again.
   */
  former: Set<string>;
  campaigns: Set<string>;
  /**
   * callId → contact: the items of this batch that passed check(), so a second item with the same callId for another
   * contact is refused. A callId recorded before for another contact is refused by the calls table (migration 0020)
   * when the round is written: probing it for every pushed call beforehand was a tenth of a batch's Postgres time,
   * for what only a faulty dialler sends.
   */
  callOwners: Map<string, string>;
  /** The org's retry delay: a failed call attempt of a follow-up is retried after it (SPEC §5 step 4). */
  retryDelaySeconds: number;
  /** The org's webhooks.allowHttpHosts: a webhook follow-up's url is checked as POST /api/contacts/:id/follow-ups checks it (SPEC §7). */
  allowHttpHosts: readonly string[];
}

/**
 * The dialler ingest path. A push (or a batch of up to 1,000) costs a fixed number of round trips:
 * one query for the users, campaigns and settings it names, one for the contacts' streams (sent together; each
 * skipped when this process already knows what it would say: `known`, `ContactStateCache.cached`), and one
 * statement that appends every call with what it causes (lead status, follow-up) through fu_append_many
 * and applies the inline read model once. Items of one contact are decided in the order sent, each on the
 * state the previous one left (In-progress then final stays one call). Idempotent by callId + status: the
 * decider answers a known call with nothing; a concurrent retry finds the stream moved and runs again on it.
 * A stale stream version (another writer got there first) re-runs only that contact's items.
 */
@Injectable()
export class CallIngest {
  /**
   * Per organization, what the reference lookup found, trusted for AUTH_CACHE_MS (as API keys are): agents known to be
   * active, campaigns known to exist, the retry delay. A push that names only known records costs no lookup: a
   * group of single pushes is then the one statement of its append (the lookup was a fifth of a group's Postgres
   * time, most of it planning). Only what exists is remembered, so a new agent or campaign is looked up at once; a
   * deactivated agent stops being accepted at once in the process that made the change (UserRepository.onForget)
   * and within AUTH_CACHE_MS elsewhere, like the agent's key (a lookup running when it was forgotten is not kept);
   * a changed retry delay or list of webhooks.allowHttpHosts, within AUTH_CACHE_MS (every send checks its URL again).
   */
  private readonly known = new TrustCache<{ staff: Set<string>; campaigns: Set<string>; retryDelaySeconds: number; allowHttpHosts: readonly string[] }>();

  constructor(
    private readonly store: EventStore,
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly states: ContactStateCache,
    private readonly users: UserRepository,
  ) {
    users.onForget(() => this.known.forget());
  }

  async ingestBatch(actor: Actor, calls: readonly CallPush[]): Promise<ItemOutcome[]> {
    const now = this.clock.now();
    const contactIds = [...new Set(calls.map((c) => c.contactId))];
    // The contacts' own streams say whether each exists in this org and whom it is assigned to. When this process
    // holds every one's state, the first round decides on those as they are, unread (`unverified`): an append is
    // made only at the version decided on, so a state another process moved meanwhile makes that contact conflict and
    // run again on a fresh read; and an answer given without an append (a duplicate, a refusal) is never given on an
    // unread state (see round). Else they are read once, beside the lookup of the other records the calls name.
    const cached = this.states.cached(actor.orgId, contactIds);
    const [refs, read] = await Promise.all([this.loadReferences(actor, calls), cached ? null : this.states.load(actor.orgId, contactIds)]);
    let states = cached ?? read!;
    let unverified = cached !== null;
    let { results, pending } = this.checkAll(actor, calls, refs, states, now);
    if (unverified && pending.length < calls.length) {
      // A refusal on an unread state: read them all and check again (a push that is refused is rare).
      states = await this.states.load(actor.orgId, contactIds);
      unverified = false;
      ({ results, pending } = this.checkAll(actor, calls, refs, states, now));
    }

    let loaded: Loaded | null = states;
    // A first round on unread states does not count against MAX_ROUNDS: what it sends back is read afresh.
    for (let round = unverified ? 0 : 1; pending.length > 0; round++) {
      let retry: number[];
      try {
        retry = await this.round(actor, calls, pending, results, now, refs.retryDelaySeconds, loaded, unverified);
      } catch (err) {
        if ((err as { code?: string }).code !== CALL_OF_ANOTHER_CONTACT) throw err;
        // A callId of this round was logged for another contact since the check (a push at the same time): nothing of
        // the round was stored. Those items are refused as check() would now; the others run again. (A deadlock
        // between two such rounds is run again by the event store.)
        const owners = await this.callOwners(actor, pending.map((i) => calls[i].callId));
        retry = pending.filter((i) => {
          const owner = owners.get(calls[i].callId);
          if (owner && owner !== calls[i].contactId) results[i] = { error: callOfAnotherContact(calls[i].callId) };
          return results[i] === undefined;
        });
      }
      loaded = null; // a contact runs again only because its stream moved (or was unread): later rounds read it afresh
      unverified = false;
      if (retry.length > 0 && round >= MAX_ROUNDS) {
        for (const i of retry) results[i] = { error: new ConcurrencyError(`contact ${calls[i].contactId} is being written by someone else; retry`) };
        break;
      }
      pending = retry;
    }
    return results;
  }

  /**
   * One decide-and-append pass over the pending items; returns the items to run again (their stream moved). On
   * `unverified` states (not read for this call), a contact of which an item would be answered without an append
   * (a duplicate, a refusal) appends nothing this round: all its items run again on a fresh read.
   */
  private async round(
    actor: Actor,
    calls: readonly CallPush[],
    pending: number[],
    results: ItemOutcome[],
    now: Date,
    retryDelaySeconds: number,
    preloaded: Loaded | null,
    unverified: boolean,
  ): Promise<number[]> {
    const lanes = groupBy(pending, (i) => calls[i].contactId);
    const loaded = preloaded ?? (await this.states.load(actor.orgId, [...lanes.keys()]));

    const requests: AppendRequest[] = [];
    const owners: { index: number; events: ContactEvent[]; before: ContactState }[] = [];
    const after = new Map<string, { state: ContactState; version: number }>();
    let decided = 0;
    const retry = new Set<string>();
    const held: { index: number; outcome: ItemOutcome; contactId: string }[] = [];
    for (const [contactId, items] of lanes) {
      if (++decided % CONTACTS_PER_TURN === 0) await nextTurn();
      let { state, version } = loaded.get(contactId)!;
      const answers: { index: number; outcome: ItemOutcome }[] = [];
      const lane: { index: number; request: AppendRequest; before: ContactState }[] = [];
      for (const i of items) {
        let events: ContactEvent[];
        try {
          checkContact(actor, calls[i], state); // again: a later round's fresh read may say otherwise
          events = contactDecider.decide(this.command(actor, calls[i], now, retryDelaySeconds), state);
        } catch (error) {
          answers.push({ index: i, outcome: { error: error as Error } });
          continue;
        }
        if (events.length === 0) {
          answers.push({ index: i, outcome: { ok: result(calls[i], 'duplicate', state, [], ownFollowUpId(actor, calls[i])) } });
          continue;
        }
        // No idempotency keys: the expected version stops a concurrent twin (run again, the decider knows its call),
        // and the calls table a callId pushed for two contacts at once (migration 0020).
        lane.push({ index: i, request: { streamId: contactStream(contactId), expectedVersion: version, events }, before: state });
        state = events.reduce(contactDecider.evolve, state);
        version += events.length;
      }
      if (unverified && answers.length > 0) {
        retry.add(contactId);
        continue;
      }
      // An answer decided on the state an earlier item of this lane left (a twin of it, the same callId with another
      // status) holds only if that item is stored: it is given after the append, and runs again if the contact conflicts.
      if (lane.length === 0) for (const a of answers) results[a.index] = a.outcome;
      else for (const a of answers) held.push({ ...a, contactId });
      for (const l of lane) {
        requests.push(l.request);
        owners.push({ index: l.index, events: l.request.events as ContactEvent[], before: l.before });
      }
      after.set(contactId, { state, version });
    }
    if (requests.length === 0) return pending.filter((i) => retry.has(calls[i].contactId) && results[i] === undefined);

    const appended = await this.store.appendMany(requests, { orgId: actor.orgId, actorId: actor.userId, occurredAt: now.toISOString() });
    appended.forEach((r, k) => {
      const { index, events, before } = owners[k];
      const push = calls[index];
      if (retry.has(push.contactId)) return; // an earlier item of this contact conflicted: this one runs again too
      if (r.outcome === 'ok') results[index] = { ok: result(push, 'accepted', before, events) };
      else if (r.outcome === 'foreign') results[index] = { error: new NotFoundError('contact', push.contactId) };
      // conflict: another writer moved the stream (a concurrent twin of this push, say); run it again on a fresh
      // read, so the answer (a duplicate, for a twin) describes the state it left. (replayed: none, no keys are sent.)
      else retry.add(push.contactId);
    });
    for (const h of held) if (!retry.has(h.contactId)) results[h.index] = h.outcome;
    const failed = new Set(appended.flatMap((r, k) => (r.outcome === 'ok' ? [] : [calls[owners[k].index].contactId])));
    for (const [contactId, s] of after) if (!failed.has(contactId)) this.states.remember(actor.orgId, contactId, s.state, s.version);
    return pending.filter((i) => retry.has(calls[i].contactId) && results[i] === undefined);
  }

  /** check() of every item, in order: the refused items' answers, and the items to decide. */
  private checkAll(actor: Actor, calls: readonly CallPush[], refs: References, states: Loaded, now: Date): { results: ItemOutcome[]; pending: number[] } {
    const results: ItemOutcome[] = new Array(calls.length);
    const pending: number[] = [];
    refs.callOwners.clear();
    calls.forEach((push, i) => {
      try {
        this.check(actor, push, refs, states, now);
        // Within a batch too a callId belongs to one contact: the first item that names it claims it, and check()
        // refuses it for any other.
        refs.callOwners.set(push.callId, push.contactId);
        pending.push(i);
      } catch (error) {
        // the item's other problems too, all that need no lookup: a 400 names every bad field (SPEC §9)
        results[i] = { error: withEveryProblem(error, () => callPushProblems(push, now)) as Error };
      }
    });
    return { results, pending };
  }

  /** Checks before deciding: the time, who may push what, and that every id names a record of this org (the contact by its stream's state). */
  private check(actor: Actor, push: CallPush, refs: References, states: Loaded, now: Date): void {
    const contact = states.get(push.contactId)!.state;
    // A bad time is a 400 before the contact's 404 and the rest, as it always was; the references join it.
    const timeProblems = problemsOf(() => checkCallTime(push, now));
    let problems: FieldProblem[] | undefined = timeProblems.length ? [...timeProblems] : undefined;
    if (!problems) {
      checkContact(actor, push, contact);
      if (actor.role === 'agent' && push.agentId !== actor.userId) throw new ForbiddenError('an agent can only log their own calls');
      const owner = refs.callOwners.get(push.callId);
      if (owner && owner !== push.contactId) throw callOfAnotherContact(push.callId);
    }
    // A call the contact has: its agent may have left since (a retry, or the final status of a live call), and so may the
    // agent its follow-up names. Refused, the final push of a live call would leave it live for ever (diallers do not
    // retry a 400); taken, the follow-up's routing passes over a departed agent as if it named nobody.
    const known = contact.calls.has(push.callId);
    const mayName = (agentId: string) => refs.staff.has(agentId) || (known && refs.former.has(agentId));
    // Each reference is checked, for a 400 that names every bad one (the list is made only for a refusal).
    // A followUpId of no follow-up of the contact: the decider's rule (refuseUnknownFollowUp), checked here too so
    // that it joins the others; only for a contact the caller sees, and a call it does not know yet.
    if (push.followUpId != null && !known && visible(actor, contact) && !contact.followUpIds.has(push.followUpId)) {
      (problems ??= []).push(fieldProblem('followUpId', UNKNOWN_FOLLOW_UP));
    }
    if (!mayName(push.agentId)) (problems ??= []).push(fieldProblem('agentId', `${push.agentId} is not an active agent of this organization`));
    const fuAgent = push.followUp?.agentId;
    if (fuAgent && !mayName(fuAgent)) (problems ??= []).push(fieldProblem('followUp.agentId', `${fuAgent} is not an active agent of this organization`));
    if (push.campaignId && !refs.campaigns.has(push.campaignId)) (problems ??= []).push(fieldProblem('campaignId', `${push.campaignId} is not a campaign of this organization`));
    const fuCampaign = push.followUp?.campaignId;
    if (fuCampaign && !refs.campaigns.has(fuCampaign)) (problems ??= []).push(fieldProblem('followUp.campaignId', `${fuCampaign} is not a campaign of this organization`));
    // Refused when scheduled, as the follow-ups endpoint does: accepted here, it failed every attempt at its send check.
    if (push.followUp?.type === 'webhook' && typeof push.followUp.url === 'string') {
      const problem = outboundUrlProblem(push.followUp.url, refs.allowHttpHosts);
      if (problem) (problems ??= []).push(fieldProblem('followUp.url', problem));
    }
    if (problems) throw ValidationError.of(problems);
  }

  private async loadReferences(actor: Actor, calls: readonly CallPush[]): Promise<References> {
    const userIds = [...new Set(calls.flatMap((c) => [c.agentId, c.followUp?.agentId]).filter((x): x is string => !!x))];
    const campaignIds = [...new Set(calls.flatMap((c) => [c.campaignId, c.followUp?.campaignId]).filter((x): x is string => !!x))];
    const now = Date.now();
    const known = this.known.get(actor.orgId, now);
    if (known && userIds.every((id) => known.staff.has(id)) && campaignIds.every((id) => known.campaigns.has(id))) {
      return { staff: known.staff, former: new Set(), campaigns: known.campaigns, retryDelaySeconds: known.retryDelaySeconds, allowHttpHosts: known.allowHttpHosts, callOwners: new Map() };
    }
    const mark = this.known.mark();
    // One round trip for all three lookups: on a busy host each round trip costs the service a socket write that
    // wakes a backend, which a profile of single pushes showed as the largest share of its CPU.
    const { rows } = await this.db.query<{ staff: string[]; former: string[]; campaigns: string[]; retry: number | null; hosts: string[] | null }>({
      // Unnamed, so planned for its values every time (about 0.4 ms of planning, measured with pg_stat_statements):
      // a named statement may settle on a generic plan made while the tables were small, and keep it after they
      // grow where statistics are not refreshed (the trap of migration 0008).
      text: `SELECT u.staff, u.former, k.campaigns, s.retry, s.hosts
               FROM (SELECT coalesce(array_agg(id::text) FILTER (WHERE active), '{}') AS staff,
                            coalesce(array_agg(id::text) FILTER (WHERE NOT active), '{}') AS former
                       FROM users WHERE org_id = $1 AND id = ANY ($2::uuid[]) AND role <> 'integration') u,
                    (SELECT coalesce(array_agg(id::text), '{}') AS campaigns FROM campaigns WHERE org_id = $1 AND id = ANY ($3::uuid[])) k,
                    -- Straight from the settings read model, in the same round trip (SettingsRepository would be another).
                    (SELECT (SELECT (settings->>'retryDelaySeconds')::int FROM org_settings WHERE org_id = $1) AS retry,
                            (SELECT array(SELECT jsonb_array_elements_text(settings->'webhooks'->'allowHttpHosts'))
                               FROM org_settings WHERE org_id = $1) AS hosts) s`,
      values: [actor.orgId, userIds, campaignIds],
    });
    const r = rows[0];
    const found = {
      staff: new Set(r.staff),
      former: new Set(r.former),
      campaigns: new Set(r.campaigns),
      retryDelaySeconds: r.retry ?? DEFAULT_RETRY_DELAY_SECONDS,
      allowHttpHosts: r.hosts ?? [],
    };
    if (this.users.trustMs > 0) {
      // What was known still fresh is kept, until it was due to go: nothing is trusted longer than AUTH_CACHE_MS after it was read.
      this.known.set(
        actor.orgId,
        {
          staff: new Set([...(known?.staff ?? []), ...found.staff]),
          campaigns: new Set([...(known?.campaigns ?? []), ...found.campaigns]),
          retryDelaySeconds: known?.retryDelaySeconds ?? found.retryDelaySeconds,
          allowHttpHosts: known?.allowHttpHosts ?? found.allowHttpHosts,
        },
        mark,
        this.known.until(actor.orgId, now) ?? now + this.users.trustMs,
      );
    }
    return { ...found, callOwners: new Map() };
  }

  /** callId → contact, for the calls already recorded among these. */
  private async callOwners(actor: Actor, callIds: readonly string[]): Promise<Map<string, string>> {
    const { rows } = await this.db.query<{ call_id: string; contact_id: string }>(
      `SELECT call_id, contact_id FROM calls WHERE org_id = $1 AND call_id = ANY ($2::text[])`,
      [actor.orgId, [...new Set(callIds)]],
    );
    return new Map(rows.map((r) => [r.call_id, r.contact_id]));
  }

  private command(actor: Actor, push: CallPush, now: Date, retryDelaySeconds: number): LogCall {
    return logCallCommand(push, now, retryDelaySeconds, ownFollowUpId(actor, push));
  }
}

/** The decider's command for a push; `followUpId`, the id of the follow-up it schedules (ownFollowUpId). */
function logCallCommand(push: CallPush, now: Date, retryDelaySeconds: number, followUpId: string | undefined): LogCall {
  return {
    type: 'LogCall',
    contactId: push.contactId,
    now: now.toISOString(),
    retryDelaySeconds,
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
    followUp: push.followUp && followUpId ? followUpInput(followUpId, callbackFields(push, push.followUp), now) : undefined,
    callback: push.callbackAt !== undefined && followUpId ? { followUpId, callbackAt: push.callbackAt, reason: push.reason } : undefined,
  };
}

/** A call's time, checked before deciding: it may start, and end, at most 24 h from now. Throws at the first fault. */
function checkCallTime(push: CallPush, now: Date): void {
  const started = Date.parse(push.startedAt);
  if (Number.isNaN(started)) throw new ValidationError('startedAt', 'must be an ISO-8601 timestamp');
  if (started > now.getTime() + DAY_MS) throw new ValidationError('startedAt', 'must not be more than 24 h in the future');
  // The same bound for the call's end: a call ending days ahead became the contact's latest, and every real call
  // before that end left its lead status alone (ContactState.lastCallEndedAt) for as long.
  if (started + push.durationSec * 1000 > now.getTime() + DAY_MS) throw new ValidationError('durationSec', 'must not end the call more than 24 h in the future (startedAt + durationSec)');
}


/**
 * Every problem of a pushed call that is found without a lookup: the decider's (logCallProblems) and its time's, for a
 * 400 naming each bad field (SPEC §9). Takes a body of any shape (the API runs it beside a DTO that refused some
 * fields: `failed` names those, and a check that reads one is skipped). What needs a lookup (the contact, the agents,
 * campaigns and the hosts a webhook may use) is checked later, by the ingest, and joins these then.
 */
export function callPushProblems(value: unknown, now: Date, failed: (field: string) => boolean = () => false): FieldProblem[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const raw = value as Record<string, unknown>;
  const fields = raw.followUp;
  const push = { ...raw, followUp: fields !== null && typeof fields === 'object' && !Array.isArray(fields) ? fields : undefined } as unknown as CallPush;
  const schedules = push.followUp !== undefined || push.callbackAt !== undefined;
  const problems = logCallProblems(logCallCommand(push, now, DEFAULT_RETRY_DELAY_SECONDS, schedules ? ANY_FOLLOW_UP_ID : undefined));
  if (failed('startedAt') || problems.some((p) => p.field === 'startedAt')) return problems; // the time is read from it
  return mergeProblems(problems, problemsOf(() => checkCallTime(push, now)));
}

/** A `Rescheduled` push's follow-up fields are the callback's: due at callbackAt unless they say otherwise (a 400 then). */
function callbackFields(push: CallPush, fields: FollowUpFields): FollowUpFields {
  return push.status === 'Rescheduled' && fields.scheduledAt === undefined ? { ...fields, scheduledAt: push.callbackAt } : fields;
}

/**
 * The contact must exist in the caller's org and, for an agent, be assigned to them (else 404, as if it did not exist).
 * No stream in this org (unknown, or another organization's contact) reads as version 0, state not created.
 */
const visible = (actor: Actor, contact: ContactState): boolean => contact.exists && ContactsRepository.visible(actor, contact);

function checkContact(actor: Actor, push: CallPush, contact: ContactState): void {
  if (!visible(actor, contact)) throw new NotFoundError('contact', push.contactId);
}

/**
 * The id of the follow-up a push schedules (`Follow up`, `Rescheduled`), derived from the call so a retried push
 * schedules the very same one; undefined for a push that schedules none (a SHA-1 per call was 1.5% of a batch's CPU).
 */
function ownFollowUpId(actor: Actor, push: CallPush): string | undefined {
  return push.followUp || push.callbackAt !== undefined ? uuidFromKey(`follow-up:${actor.orgId}:${push.callId}`) : undefined;
}

function result(push: CallPush, status: CallPushResult['status'], before: ContactState, events: readonly ContactEvent[], followUpId?: string): CallPushResult {
  const changed = events.find((e) => e.type === LeadStatusChanged);
  const scheduled = events.find((e) => e.type === FollowUpScheduled);
  // A duplicate answers with the follow-up its first push scheduled, so a dialler that lost that answer learns it.
  if (!scheduled && followUpId && before.followUpIds.has(followUpId)) {
    return { status, callId: push.callId, contactId: push.contactId, leadStatus: before.leadStatus, followUpId };
  }
  return {
    status,
    callId: push.callId,
    contactId: push.contactId,
    leadStatus: changed ? (changed.data as { to: LeadStatus }).to : before.leadStatus,
    followUpId: scheduled ? (scheduled.data as { followUpId: string }).followUpId : null,
  };
}

/** SPEC §5 defaults: type call, due in one hour, priority normal, 3 attempts, no out-of-window calls. */
export function followUpInput(followUpId: string, f: FollowUpFields, now: Date): FollowUpInput {
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
    ...(f.source === undefined ? {} : { source: f.source }),
  };
}

