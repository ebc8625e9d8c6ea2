import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock, Database, NotFoundError } from '@app/shared';
import { AppendRequest, ConcurrencyError, EventStore } from '@app/event-store';
import { ContactCommand, contactDecider, ContactEvent, ContactState, ContactStateCache, contactStream, isOpenFollowUpStatus, snoozeBringsForward, snoozeUntil } from '@app/contacts';
import { ORG_TIMEZONE } from '@app/tenancy';
import { todayIn } from './due-timing';
import { HubActionCommand, HubActionResult } from './hub-action.command';

const MAX_ROUNDS = 8;

/**
 * SPEC §6 PATCH /api/follow-ups/due. For each contact assigned to the caller: `done` completes, `snooze` pushes
 * out by snoozeDays, every open call follow-up due up to the end of the caller's today (the events are the
 * activity on the contact's timeline). All contacts are written in one transaction (fu_append_many); a contact
 * another writer changed meanwhile is decided again on a fresh read, so two agents' overlapping PATCHes never
 * apply twice (the second sees the follow-ups already completed or snoozed past today).
 */
@CommandHandler(HubActionCommand)
export class HubActionHandler implements ICommandHandler<HubActionCommand, HubActionResult> {
  constructor(
    private readonly store: EventStore,
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly states: ContactStateCache,
  ) {}

  async execute({ actor, contactIds, action }: HubActionCommand): Promise<HubActionResult> {
    const ids = [...new Set(contactIds)].filter((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id));
    const { rows } = await this.db.query<{ id: string; snooze_days: number | null; org_timezone: string }>(
      `SELECT c.id, (s.settings->>'snoozeDays')::int AS snooze_days, ${ORG_TIMEZONE('c.org_id')} AS org_timezone
         FROM contacts c LEFT JOIN org_settings s ON s.org_id = c.org_id
        WHERE c.org_id = $1 AND c.assigned_agent_id = $2 AND c.id = ANY ($3::uuid[])`,
      [actor.orgId, actor.userId, ids],
    );
    if (rows.length === 0) throw new NotFoundError('contacts assigned to you among personId(s)');
    const snoozeDays = rows[0].snooze_days ?? 3;
    const now = this.clock.now();
    const { end } = todayIn(actor.timezone, now);
    // calendar days where each contact is (snoozeUntil), as the single follow-up's snooze counts them
    const until = (state: ContactState) => snoozeUntil(now, snoozeDays, state.timezone ?? rows[0].org_timezone);

    const updated = new Set<string>();
    const reassigned = new Set<string>();
    let pending = rows.map((r) => r.id);
    for (let round = 1; pending.length > 0; round++) {
      if (round > MAX_ROUNDS) throw new ConcurrencyError('the follow-ups of these contacts keep changing; retry');
      const states = await this.states.load(actor.orgId, pending);
      const requests: AppendRequest[] = [];
      const owners: string[] = [];
      for (const contactId of pending) {
        const { state, version } = states.get(contactId)!;
        // Reassigned since the query above (or while this append waited): no longer the caller's to act on.
        if (state.assignedAgentId !== actor.userId) {
          reassigned.add(contactId);
          continue;
        }
        const events = decideAll(state, contactId, action, end, until, actor.userId);
        if (events.length === 0) continue;
        requests.push({ streamId: contactStream(contactId), expectedVersion: version, events });
        owners.push(contactId);
      }
      const results = await this.store.appendMany(requests, { orgId: actor.orgId, actorId: actor.userId, occurredAt: now.toISOString() });
      pending = [];
      results.forEach((r, i) => {
        if (r.outcome === 'ok') updated.add(owners[i]);
        else if (r.outcome === 'conflict') pending.push(owners[i]);
      });
    }
    if (reassigned.size === rows.length) throw new NotFoundError('contacts assigned to you among personId(s)');
    return { ok: true, count: updated.size, action };
  }
}

/**
 * Every open call follow-up of the contact due before `end`, completed ("done") or snoozed to `until`; one due after
 * `until` (today's end comes after it, a rare mix of timezones and clock changes) is not snoozed, which would bring it
 * forward.
 */
function decideAll(state: ContactState, contactId: string, action: 'done' | 'snooze', end: Date, until: (state: ContactState) => string, by: string): ContactEvent[] {
  const events: ContactEvent[] = [];
  let s = state;
  const snoozeTo = until(state);
  const due = [...state.followUps.values()].filter(
    (f) => f.type === 'call' && isOpenFollowUpStatus(f.status) && Date.parse(f.scheduledAt) < end.getTime() && (action === 'done' || !snoozeBringsForward(f, snoozeTo)),
  );
  for (const f of due) {
    const command: ContactCommand =
      action === 'done'
        ? { type: 'CompleteFollowUp', contactId, followUpId: f.id, how: 'hub', by }
        : { type: 'SnoozeFollowUp', contactId, followUpId: f.id, until: snoozeTo };
    const decided = contactDecider.decide(command, s);
    events.push(...decided);
    s = decided.reduce(contactDecider.evolve, s);
  }
  return events;
}
