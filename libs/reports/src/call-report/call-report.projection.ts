import { Injectable } from '@nestjs/common';
import { Sql } from '@app/shared';
import { AsProjection, Projection, StoredEvent } from '@app/event-store';
import { CallLogged } from '@app/contacts';
import { UserCreated, UserUpdated } from '@app/tenancy';
import { ORG_TIMEZONE_EVENT_TYPES } from '../shared/org-timezone';
import { aggregateCallReport, CallReportState, periodRows, ReportUser, stateNeededBy, STATUS_COLUMNS } from './call-report.aggregation';

type Counts = { attempts: number; connected: number; talkSec: number; byStatus: number[] };

export const CALL_REPORT_PROJECTION = 'call-report';

const STATUS_COLS = Object.values(STATUS_COLUMNS);

/**
 * The call report's pre-aggregated counts (SPEC §8): one row per org, dimension, local day and key, so a report
 * reads a handful of index-ordered rows and never the calls table. Async: the ingest path does not pay for it.
 *
 * It keeps its own copy of each org's timezone and each user's branch and department, taken from the events,
 * so it depends on the log only. Per batch: two point reads of that state, the fold in memory, and one upsert
 * of the counts (plus the state rows the batch changed). Adding counts is not idempotent on its own: the runner
 * applies a batch in the transaction that moves the checkpoint, and a rebuild truncates the tables first.
 */
@Injectable()
@AsProjection()
export class CallReportProjection implements Projection {
  readonly name = CALL_REPORT_PROJECTION;
  readonly mode = 'async';
  readonly tables = ['call_report_days', 'call_report_periods', 'call_report_orgs', 'call_report_users'];
  readonly eventTypes = [CallLogged, UserCreated, UserUpdated, ...ORG_TIMEZONE_EVENT_TYPES];

  async handle(events: readonly StoredEvent[], tx: Sql): Promise<void> {
    const state = await this.loadState(events, tx);
    const { rows, changedOrgs, changedUsers } = aggregateCallReport(events, state);

    if (changedOrgs.size) {
      const ids = [...changedOrgs];
      await tx.query(
        `INSERT INTO call_report_orgs (org_id, timezone) SELECT * FROM unnest($1::uuid[], $2::text[])
         ON CONFLICT (org_id) DO UPDATE SET timezone = excluded.timezone`,
        [ids, ids.map((id) => state.orgTimezones.get(id)!)],
      );
    }
    if (changedUsers.size) {
      const ids = [...changedUsers];
      const users = ids.map((id) => state.users.get(id)!);
      await tx.query(
        `INSERT INTO call_report_users (user_id, org_id, branch, department) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[])
         ON CONFLICT (user_id) DO UPDATE SET branch = excluded.branch, department = excluded.department`,
        [ids, users.map((u) => u.orgId), users.map((u) => u.branch), users.map((u) => u.department)],
      );
    }
    if (rows.length) {
      await this.upsert(tx, 'call_report_days', 'd', 'org_id, dimension, day, key', rows.map((r) => [r.orgId, r.dimension, r.day, r.key]), rows, ['uuid', 'text', 'date', 'text']);
      const periods = periodRows(rows);
      await this.upsert(
        tx,
        'call_report_periods',
        'p',
        'org_id, dimension, grain, start, key',
        periods.map((p) => [p.orgId, p.dimension, p.grain, p.start, p.key]),
        periods,
        ['uuid', 'text', 'text', 'date', 'text'],
      );
    }
  }

  /** One statement: add the counts of `rows` to the rows with the same key columns (or insert them). */
  private async upsert(tx: Sql, table: string, alias: string, keyColumns: string, keys: unknown[][], rows: Counts[], keyTypes: string[]): Promise<void> {
    const k = keyTypes.length;
    const keyParams = keyTypes.map((t, i) => `$${i + 1}::${t}[]`);
    const countParams = ['int', 'int', 'bigint', ...STATUS_COLS.map(() => 'int')].map((t, i) => `$${k + i + 1}::${t}[]`);
    await tx.query(
      `INSERT INTO ${table} AS ${alias} (${keyColumns}, attempts, connected, talk_sec, ${STATUS_COLS.join(', ')})
       SELECT * FROM unnest(${[...keyParams, ...countParams].join(', ')})
       ON CONFLICT (${keyColumns}) DO UPDATE SET
         attempts = ${alias}.attempts + excluded.attempts, connected = ${alias}.connected + excluded.connected, talk_sec = ${alias}.talk_sec + excluded.talk_sec,
         ${STATUS_COLS.map((c) => `${c} = ${alias}.${c} + excluded.${c}`).join(', ')}`,
      [
        ...keyTypes.map((_, i) => keys.map((key) => key[i])),
        rows.map((r) => r.attempts),
        rows.map((r) => r.connected),
        rows.map((r) => r.talkSec),
        ...STATUS_COLS.map((_, i) => rows.map((r) => r.byStatus[i])),
      ],
    );
  }

  /** The stored timezone of each org with a call in the batch, and the stored user behind each agent or update. */
  private async loadState(events: readonly StoredEvent[], tx: Sql): Promise<CallReportState> {
    const { orgIds, userIds } = stateNeededBy(events);
    const state: CallReportState = { orgTimezones: new Map(), users: new Map() };
    if (orgIds.length) {
      const { rows } = await tx.query<{ org_id: string; timezone: string }>('SELECT org_id, timezone FROM call_report_orgs WHERE org_id = ANY ($1::uuid[])', [orgIds]);
      for (const r of rows) state.orgTimezones.set(r.org_id, r.timezone);
    }
    if (userIds.length) {
      const { rows } = await tx.query<{ user_id: string; org_id: string; branch: string; department: string }>(
        'SELECT user_id, org_id, branch, department FROM call_report_users WHERE user_id = ANY ($1::uuid[])',
        [userIds],
      );
      for (const r of rows) state.users.set(r.user_id, { orgId: r.org_id, branch: r.branch, department: r.department } satisfies ReportUser);
    }
    return state;
  }
}
