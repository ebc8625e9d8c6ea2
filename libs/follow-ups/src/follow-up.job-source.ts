import { Injectable } from '@nestjs/common';
import { Sql } from '@app/shared';
import { StoredEvent } from '@app/event-store';
import { AsJobSource, JobRequest, JobSource, removal } from '@app/queue';
import {
  contactStream,
  wasDialled,
  FollowUpAttemptFailed,
  FollowUpAttemptFailedData,
  FollowUpAttemptStarted,
  FollowUpAttemptSucceeded,
  FollowUpAttemptSucceededData,
  FollowUpCancelled,
  FollowUpCompleted,
  FollowUpDeferred,
  FollowUpExpired,
  FollowUpRescheduled,
  FollowUpRescheduledData,
  FollowUpScheduled,
  FollowUpScheduledData,
  FollowUpSnoozed,
  FollowUpSnoozedData,
} from '@app/contacts';
import { EXECUTE_FOLLOW_UP, executeJob, FOLLOW_UP_ATTEMPT_TIMEOUT, timeoutJob } from './follow-up.jobs';

/**
 * Every event that sets a follow-up's next attempt makes one delayed job for (follow-up, schedule) at that
 * time; an attempt of a call follow-up sent to a dialler makes its timeout job. Ids are deterministic, so the
 * outbox may enqueue twice and reconcile may run any time.
 *
 * Whether a call attempt was sent to a dialler is what its start recorded (FollowUpAttemptStarted.dialled), not
 * whether the org has one when this runs: an admin may add or remove the dialler while attempts wait, and an attempt
 * nobody dialled must not time out (its agent calls), nor one that was dialled wait forever. Attempts recorded before
 * the fact was (no `dialled`) go by the org's dialler setting of the moment, as they always did.
 *
 * It also asks the outbox to remove the waiting jobs a change made pointless (supersededJobs), so that a bulk cancel of
 * far-future callbacks frees their Redis memory at once instead of at their old times.
 */
@Injectable()
@AsJobSource()
export class FollowUpJobSource implements JobSource {
  readonly name = 'follow-ups';
  readonly jobNames = [EXECUTE_FOLLOW_UP, FOLLOW_UP_ATTEMPT_TIMEOUT];
  readonly eventTypes = [
    FollowUpScheduled,
    FollowUpSnoozed,
    FollowUpRescheduled,
    FollowUpDeferred,
    FollowUpAttemptFailed,
    FollowUpAttemptStarted,
    // these make no job, only remove what the follow-up had
    FollowUpAttemptSucceeded,
    FollowUpCancelled,
    FollowUpCompleted,
    FollowUpExpired,
  ];

  async jobsFor(events: readonly StoredEvent[], sql: Sql): Promise<JobRequest[]> {
    const jobs: JobRequest[] = [];
    const needInfo = events.filter((e) => e.type !== FollowUpScheduled).map((e) => e.data.followUpId as string);
    const info = await this.followUpInfo(sql, needInfo);
    for (const e of events) {
      const d = e.data;
      const base = { orgId: e.orgId, contactId: d.contactId as string, followUpId: d.followUpId as string };
      switch (e.type) {
        case FollowUpScheduled: {
          const s = d as FollowUpScheduledData;
          jobs.push(executeJob({ ...base, schedule: 1 }, s.scheduledAt, s.priority));
          break;
        }
        case FollowUpSnoozed:
          jobs.push(executeJob({ ...base, schedule: d.schedule }, d.until, info.get(base.followUpId)?.priority ?? 'normal'));
          break;
        case FollowUpRescheduled:
          jobs.push(executeJob({ ...base, schedule: d.schedule }, d.scheduledAt, info.get(base.followUpId)?.priority ?? 'normal'));
          break;
        case FollowUpDeferred:
          jobs.push(executeJob({ ...base, schedule: d.schedule }, d.nextAttemptAt, info.get(base.followUpId)?.priority ?? 'normal'));
          break;
        case FollowUpAttemptFailed:
          if (d.retryAt) jobs.push(executeJob({ ...base, schedule: d.schedule }, d.retryAt, info.get(base.followUpId)?.priority ?? 'normal'));
          break;
        case FollowUpAttemptStarted: {
          const f = info.get(base.followUpId);
          if (f?.type === 'call' && wasDialled(d.dialled, !!f.diallerUrl)) {
            jobs.push(timeoutJob({ ...base, attempt: d.attempt, schedule: d.schedule ?? f.schedule }, Date.parse(d.at) + f.timeoutSeconds * 1000));
          }
          break;
        }
      }
      jobs.push(...supersededJobs(e, info.get(base.followUpId)));
    }
    return jobs;
  }

  /**
   * From Postgres alone: the next attempt of every open follow-up, the attempt in flight of every webhook and SMS
   * follow-up (resumed), and the timeout of every dialled call attempt, with its dial request again when Redis lost
   * that timeout too. Whether a queued attempt was dialled is read from its start in the contact's stream (the read
   * model does not keep it): the latest FollowUpAttemptStarted of the follow-up, for queued rows only.
   */
  async *pending(sql: Sql): AsyncIterable<JobRequest> {
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const { rows } = await sql.query(
        `SELECT f.id, f.org_id, f.contact_id, f.status, f.type, f.schedule, f.priority, f.attempts, f.next_attempt_at, f.updated_at,
                s.settings->'dialler'->>'url' AS dialler_url, coalesce((s.settings->>'attemptTimeoutSeconds')::int, 3600) AS timeout_seconds,
                (a.data->>'dialled')::boolean AS dialled
           FROM follow_ups f LEFT JOIN org_settings s ON s.org_id = f.org_id
           LEFT JOIN LATERAL (
                 SELECT e.data FROM events e
                  WHERE f.status = 'queued' AND e.stream_id = ($2::text || f.contact_id::text) COLLATE "C" AND e.type = 'FollowUpAttemptStarted'
                    AND e.data->>'followUpId' = f.id::text
                  ORDER BY e.stream_version DESC LIMIT 1) a ON true
          WHERE f.kind = 'follow_up' AND NOT f.resolved AND f.id > $1 ORDER BY f.id LIMIT 1000`,
        [after, contactStream('')],
      );
      if (rows.length === 0) return;
      for (const r of rows) {
        const base = { orgId: r.org_id, contactId: r.contact_id, followUpId: r.id };
        if ((r.status === 'scheduled' || r.status === 'snoozed') && r.next_attempt_at) {
          yield executeJob({ ...base, schedule: r.schedule }, new Date(r.next_attempt_at).toISOString(), r.priority);
        } else if (r.status === 'in_progress') {
          // A webhook or SMS attempt counted and never ended: the job was lost with the worker performing it. Due at once,
          // it resumes the attempt under the same message id, which receivers de-duplicate on; an SMS outside the calling
          // window is deferred to the window's opening instead (the executor), and sent then under that id.
          yield executeJob({ ...base, schedule: r.schedule }, new Date(r.updated_at).toISOString(), r.priority);
        } else if (r.status === 'queued' && wasDialled(r.dialled, !!r.dialler_url)) {
          // Dialled as its start recorded (an attempt recorded before it was: the org has a dialler now). One not
          // dialled waits for its agent's call, with no timeout and no dial request, whatever the settings say now.
          const timeout = timeoutJob({ ...base, attempt: r.attempts, schedule: r.schedule }, new Date(r.updated_at).getTime() + r.timeout_seconds * 1000);
          // A call attempt counted whose job Redis lost may have died before its dial request left: nothing else would
          // ring the lead, and the attempt would wait out its timeout. Asked again under the same webhook-id (the
          // dialler de-duplicates on it), as a job run again after a crash does; not when the timeout job is still in
          // Redis, which then lost nothing (BullMQ itself runs a crashed job again). Listed before the timeout job,
          // which reconcile adds.
          yield { ...executeJob({ ...base, schedule: r.schedule, resume: true }, new Date(r.updated_at).toISOString(), r.priority), unlessPresent: timeout.jobId };
          yield timeout;
        }
      }
      after = rows[rows.length - 1].id;
    }
  }

  /** The follow-ups' rows as they are now: after this round's events, and perhaps after later ones too. */
  private async followUpInfo(sql: Sql, ids: string[]) {
    const out = new Map<string, FollowUpRow>();
    if (ids.length === 0) return out;
    const { rows } = await sql.query(
      `SELECT f.id, f.priority, f.type, f.schedule, f.attempts, f.resolved, s.settings->'dialler'->>'url' AS dialler_url,
              coalesce((s.settings->>'attemptTimeoutSeconds')::int, 3600) AS timeout_seconds
         FROM follow_ups f LEFT JOIN org_settings s ON s.org_id = f.org_id WHERE f.id = ANY ($1::uuid[])`,
      [[...new Set(ids)]],
    );
    for (const r of rows) {
      out.set(r.id, {
        priority: r.priority,
        type: r.type,
        schedule: r.schedule,
        attempts: r.attempts,
        resolved: r.resolved,
        diallerUrl: r.dialler_url,
        timeoutSeconds: r.timeout_seconds,
      });
    }
    return out;
  }
}

/** A follow-up's row in the read model, as the job source reads it. */
export interface FollowUpRow {
  priority: string;
  type: string;
  schedule: number;
  attempts: number;
  resolved: boolean;
  diallerUrl: string | null;
  timeoutSeconds: number;
}

/**
 * The jobs `e` made pointless, as removals (JobRequest.remove): only ids no later event can ask for again, so the
 * outbox may remove them whatever order rounds run in, and however often.
 *
 * - An event that sets schedule n (snoozed, rescheduled, failed with a retry) supersedes the execute job of n - 1: a
 *   schedule number is set once and only grows, so no event makes that id again. Older ones went with the event that
 *   superseded them. A deferral is left out: its n - 1 job is the very job that deferred (running), removed by BullMQ
 *   when it completes.
 * - The attempt a snooze or reschedule withdrew, or that failed, is over: its timeout job (a call's) is pointless. A
 *   call attempt's schedule is the one it started under, which only the snooze or reschedule that withdraws it, or its
 *   failure, moves (a deferral keeps an attempt open only for sms), so it is n - 1 there.
 * - A follow-up that ended (completed, by hand or by an attempt; failed; cancelled; expired) never runs again: the
 *   execute job of its current schedule (delayed: a redial, or a window that never opens looking again; or never run:
 *   a far-future callback cancelled) and the timeout of its last call attempt are pointless. Its schedule is the read
 *   model's (`row`), which is final once it ended; removed only when the row says it ended, as it does for any event
 *   the outbox reads (the inline projection commits with the event).
 *
 * A job that is running when the outbox asks (the timeout that failed the attempt, the delivery that completed it) is
 * left to end as it would have.
 */
export function supersededJobs(e: StoredEvent, row: FollowUpRow | undefined): JobRequest[] {
  const d = e.data;
  const base = { orgId: e.orgId, contactId: d.contactId as string, followUpId: d.followUpId as string };
  const exec = (schedule: number) => removal(executeJob({ ...base, schedule }, e.metadata.occurredAt, 'normal'));
  const timeout = (schedule: number, attempt: number) => removal(timeoutJob({ ...base, schedule, attempt }, 0));
  const isCall = row?.type === 'call';
  const ended = (attempt: number | null): JobRequest[] => {
    if (!row?.resolved) return [];
    return [exec(row.schedule), ...(isCall && attempt ? [timeout(row.schedule, attempt)] : [])];
  };
  switch (e.type) {
    case FollowUpSnoozed:
    case FollowUpRescheduled: {
      const { schedule, withdrawnAttempt } = d as unknown as FollowUpSnoozedData | FollowUpRescheduledData;
      if (!Number.isInteger(schedule) || schedule < 2) return [];
      return [exec(schedule - 1), ...(isCall && withdrawnAttempt ? [timeout(schedule - 1, withdrawnAttempt)] : [])];
    }
    case FollowUpAttemptFailed: {
      const { retryAt, schedule, attempt } = d as unknown as FollowUpAttemptFailedData;
      if (retryAt === null) return ended(attempt);
      if (!Number.isInteger(schedule) || schedule! < 2) return []; // stored without it: which schedule it left is unknown
      return [exec(schedule! - 1), ...(isCall ? [timeout(schedule! - 1, attempt)] : [])];
    }
    case FollowUpAttemptSucceeded:
      return ended((d as unknown as FollowUpAttemptSucceededData).attempt);
    case FollowUpCancelled:
    case FollowUpCompleted:
    case FollowUpExpired:
      // an attempt open when it ended is the row's last one; none open, that id names no job and costs a lookup
      return ended(row && row.attempts > 0 ? row.attempts : null);
    default:
      return [];
  }
}
