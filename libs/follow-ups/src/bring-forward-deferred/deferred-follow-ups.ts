import { Sql } from '@app/shared';
import { CallingWindow, contactStream, FollowUpAttemptFailed, FollowUpDeferred, FollowUpRescheduled, FollowUpSnoozed } from '@app/contacts';

/** A deferred follow-up, to bring forward: its id, contact and current schedule (its job's), and what its window is made of. */
export interface DeferredFollowUp {
  id: string;
  contactId: string;
  schedule: number;
  /** When its job runs now: the opening it was deferred to. */
  nextAttemptAt: string;
  /** The contact's own timezone; null: the org's. */
  timezone: string | null;
  /** Its campaign's narrowing of the org's window, if any. */
  campaignWindow: CallingWindow | null;
}

/** Where an event stands in the log's commit order (events_pkey). */
export interface LogPosition {
  transactionId: string;
  globalPosition: string;
}

const START = { at: '-infinity', id: '00000000-0000-0000-0000-000000000000' };
/** The events that set a follow-up's next attempt after it was scheduled: the last one says why it waits. */
const SETTERS = [FollowUpDeferred, FollowUpAttemptFailed, FollowUpSnoozed, FollowUpRescheduled];
/** A deferral is decided at or after its follow-up's due time; this margin is for the clocks of the processes. */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * An org's open call and sms follow-ups that wait for the opening of the calling window as it was before a settings
 * change (`change`, its place in the log), a page at a time: the last event that set their next attempt is a
 * FollowUpDeferred committed before the change. Found from the log, as the read model keeps no reason: a retry waiting
 * out `retryDelaySeconds` also has its next attempt after its due time, and must keep it. A follow-up snoozed,
 * scheduled or rescheduled for later is none of these and keeps its time; one deferred after the change was deferred on
 * the new window (and a sweep run again does not run again those it brought forward and that were deferred anew). With
 * `contactsWithoutTimezone` (only the org's timezone changed), only those of contacts that take the org's timezone.
 *
 * Read along follow_ups_open_ix (org_id, scheduled_at) up to now only: a follow-up is deferred when its job runs, at or
 * after its due time. Each candidate's last setter is one backward probe of its contact's stream.
 */
export async function* deferredFollowUps(
  sql: Sql,
  orgId: string,
  change: LogPosition,
  now: Date,
  contactsWithoutTimezone: boolean,
  pageSize: number,
): AsyncIterable<DeferredFollowUp[]> {
  const ownZone = contactsWithoutTimezone ? 'AND EXISTS (SELECT 1 FROM contacts c WHERE c.id = f.contact_id AND c.timezone IS NULL)' : '';
  for (let after = START; ; ) {
    const { rows } = await sql.query<{ id: string; contact_id: string; schedule: number; at: string; next_attempt_at: Date; timezone: string | null; campaign_window: CallingWindow | null }>(
      `SELECT f.id, f.contact_id, f.schedule, f.scheduled_at::text AS at, f.next_attempt_at,
              (SELECT c.timezone FROM contacts c WHERE c.id = f.contact_id) AS timezone,
              (SELECT k.calling_window FROM campaigns k WHERE k.id = f.campaign_id) AS campaign_window
         FROM follow_ups f
        WHERE f.org_id = $1 AND f.kind = 'follow_up' AND NOT f.resolved AND f.scheduled_at <= $2::timestamptz
          AND (f.scheduled_at, f.id) > ($3::timestamptz, $4::uuid)
          AND f.status = 'scheduled' AND f.type IN ('call', 'sms') AND NOT f.allow_out_of_window
          AND f.next_attempt_at > $5::timestamptz AND f.next_attempt_at > f.scheduled_at
          ${ownZone}
          AND (SELECT e.type = $8 AND (e.transaction_id, e.global_position) < ($9::xid8, $10::bigint)
                 FROM events e
                WHERE e.stream_id = ($6::text || f.contact_id::text) COLLATE "C" AND e.type = ANY ($7::text[])
                  AND e.data->>'followUpId' = f.id::text
                ORDER BY e.stream_version DESC LIMIT 1)
        ORDER BY f.scheduled_at, f.id LIMIT ${pageSize}`,
      [orgId, new Date(now.getTime() + CLOCK_SKEW_MS).toISOString(), after.at, after.id, now.toISOString(), contactStream(''), SETTERS, FollowUpDeferred, change.transactionId, change.globalPosition],
    );
    if (rows.length === 0) return;
    yield rows.map((r) => ({
      id: r.id,
      contactId: r.contact_id,
      schedule: r.schedule,
      nextAttemptAt: r.next_attempt_at.toISOString(),
      timezone: r.timezone,
      campaignWindow: r.campaign_window,
    }));
    const last = rows[rows.length - 1];
    after = { at: last.at, id: last.id };
  }
}
