import { Injectable } from '@nestjs/common';
import { groupBy, Sql } from '@app/shared';
import { EventStore, foldStream, StoredEvent } from '@app/event-store';
import { AsJobSource, JobRequest, JobSource } from '@app/queue';
import { CallLogged, CallLoggedData, LeadStatusChanged, LeadStatusChangedData } from '@app/contacts';
import {
  AutoAssignmentSettings,
  DEFAULT_SETTINGS,
  SettingsChanged,
  SettingsChangedData,
  settingsDecider,
  SettingsRepository,
  settingsStream,
  withDefaults,
} from '@app/settings';
import { reassignBacklogJob, reassignJob, REASSIGN_BACKLOG, REASSIGN_LEAD } from './reassign.jobs';
import { RECYCLABLE_SQL, recycledBacklog } from './recycled-backlog';

/**
 * Whether rules changed from `before` to `after` may recycle leads they did not, while on: turned on, a status added,
 * maxReassignments raised (leads parked at the old maximum), or the scope moved off a branch or department (to the
 * org, or to the other partition: leads whose re-check found nobody eligible may find someone now). Other changes need
 * no new job: the re-check reads strategy and the rest when it runs; narrowing never adds a lead; and a job already in
 * Redis keeps its due time (a new one for the same lead and version has the same id), so a new delay could not move it.
 */
export function recyclesMore(before: AutoAssignmentSettings, after: AutoAssignmentSettings): boolean {
  if (!after.enabled) return false;
  if (!before.enabled || after.statuses.some((s) => !before.statuses.includes(s))) return true;
  return after.maxReassignments > before.maxReassignments || (after.scope !== before.scope && before.scope !== 'org');
}

/**
 * SPEC §7 auto lead assignment, the trigger: every unreached event (a final call that did not connect, a lead
 * status change into a recycled status) of an org with auto-assignment on makes one delayed job, due
 * `delaySeconds` after the event. The job decides; see libs/contacts/src/domain/reassignment.ts.
 *
 * A settings change that makes the rules recycle more (recyclesMore) makes one job that sweeps the org's leads
 * already in a recycled status (ReassignBacklogHandler): they had no trigger under the old rules, and an org may
 * hold 100,000 of them, more than one round of the job outbox should enqueue.
 */
@Injectable()
@AsJobSource()
export class ReassignJobSource implements JobSource {
  readonly name = 'auto-assignment';
  readonly jobNames = [REASSIGN_LEAD, REASSIGN_BACKLOG];
  readonly eventTypes = [CallLogged, LeadStatusChanged, SettingsChanged];

  constructor(
    private readonly settings: SettingsRepository,
    private readonly store: EventStore,
  ) {}

  async jobsFor(events: readonly StoredEvent[], sql: Sql): Promise<JobRequest[]> {
    const settingsChanges = events.filter((e) => e.type === SettingsChanged);
    const contactEvents = settingsChanges.length ? events.filter((e) => e.type !== SettingsChanged) : events;
    return [...(await this.backlogSweeps(settingsChanges)), ...(await this.recheckJobs(contactEvents, sql))];
  }

  private async recheckJobs(events: readonly StoredEvent[], sql: Sql): Promise<JobRequest[]> {
    const triggers: { e: StoredEvent; delayMs: number }[] = [];
    // Each org's rules once a round, not an await an event: the outbox hands over every call of a round, and that was
    // 4 % of what the service allocated in bench:ingest's batch phase (auto-assignment off).
    const rulesOf = new Map<string, AutoAssignmentSettings>();
    for (const orgId of new Set(events.map((e) => e.orgId))) rulesOf.set(orgId, (await this.settings.getCached(orgId)).autoAssignment);
    for (const e of events) {
      const rules = rulesOf.get(e.orgId)!;
      if (!rules.enabled) continue;
      const unreached =
        e.type === CallLogged ? !(e.data as CallLoggedData).connected : (rules.statuses as readonly string[]).includes((e.data as LeadStatusChangedData).to);
      if (unreached) triggers.push({ e, delayMs: rules.delaySeconds * 1000 });
    }
    if (triggers.length === 0) return [];
    // A call on a lead that is not in a recycled status now cannot reassign it later: a later streak has its own trigger.
    const { rows } = await sql.query<{ id: string }>(
      `SELECT id FROM contacts WHERE id = ANY ($1::uuid[]) AND status = 'ACTIVE' AND lead_status IN (${RECYCLABLE_SQL})`,
      [[...new Set(triggers.map((t) => t.e.data.contactId as string))]],
    );
    const live = new Set(rows.map((r) => r.id));
    return triggers
      .filter((t) => live.has(t.e.data.contactId))
      .map((t) =>
        reassignJob({ orgId: t.e.orgId, contactId: t.e.data.contactId, triggerVersion: t.e.streamVersion }, Date.parse(t.e.metadata.occurredAt) + t.delayMs),
      );
  }

  /**
   * A sweep job for each change that widened its org's rules, named by that change, so the event replayed after a
   * crash makes the same job. The sweep reads the rules as they are when it runs (turned off since: it makes none).
   */
  private async backlogSweeps(changes: readonly StoredEvent[]): Promise<JobRequest[]> {
    const jobs: JobRequest[] = [];
    for (const [orgId, ofOrg] of groupBy(changes, (e) => e.orgId)) {
      // Settings streams are short (one event per admin change); the rules before a change are the fold up to it.
      const stream = await this.store.readStream(orgId, settingsStream(orgId));
      for (const e of ofOrg) {
        const before = foldStream(settingsDecider, stream.filter((x) => x.streamVersion < e.streamVersion)).settings ?? DEFAULT_SETTINGS;
        const after = withDefaults((e.data as SettingsChangedData).settings);
        if (recyclesMore(before.autoAssignment, after.autoAssignment)) jobs.push(reassignBacklogJob({ orgId, settingsVersion: e.streamVersion }));
      }
    }
    return jobs;
  }

  /** After Redis loss: the re-check every recycled lead of every org should have (recycledBacklog). */
  async *pending(sql: Sql): AsyncIterable<JobRequest> {
    for await (const page of recycledBacklog(sql, null, ReassignJobSource.PAGE)) yield* page;
  }

  /** Contacts read a query by pending and by a sweep (a test lowers it to walk several pages). */
  static PAGE = 5000;
}
