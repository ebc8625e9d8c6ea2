import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Database, systemActor } from '@app/shared';
import { RUN_CONSUMERS } from '@app/event-store';
import { AsRecurringJob, HandlesJob, JobHandler, JobQueues, QueueName, RecurringJob } from '@app/queue';
import { FollowUpExpired } from '@app/contacts';
import { Counter } from 'prom-client';
import { EXPIRE_FOLLOW_UPS } from '../follow-up.jobs';
import { FollowUpWriter } from '../follow-up-writer';
import { expiryCutoff } from './expiry-cutoff';

const expired = new Counter({ name: 'follow_ups_expired_total', help: 'Follow-ups expired by the periodic job' });
const PAGE = 500;
/** Warnings logged one by one per run, for follow-ups and for organizations each; the rest are counted. */
const LOGGED = 10;
const START = { at: '-infinity', id: '00000000-0000-0000-0000-000000000000' };

interface OrgToExpire {
  org_id: string;
  days: number;
  tz: string;
  oldest: Date;
}

/**
 * SPEC §5 expiry: an open follow-up overdue for longer than the org's expireAfterDays becomes expired. Overdue is
 * "due date before today", so it expires when today is more than N calendar days past its due date, days of the
 * org's timezone (follow-up.decider.ts expire). So a viewer in the org's timezone never sees the hub show it "overdue by
 * N days" and then lose it that day; the hub counts days in the viewer's own zone, though, and a viewer west of the
 * org's may see it go in the middle of their day, at the org's midnight, even of a day it showed "overdue by N days".
 * Until 2026-12-07 it was N × 24 h from its due time, up to a day earlier.
 *
 * Organization by organization, each day counted in TypeScript with the decider's functions: a zone is never handed
 * to PostgreSQL, whose tzdata may not know a zone Node's ICU validated (one such org's "time zone not recognized"
 * stopped expiry for every org, every minute, until 2026-12-07). An org whose zone cannot be read is logged and
 * skipped; the others expire as usual.
 */
@Injectable()
@HandlesJob(EXPIRE_FOLLOW_UPS)
export class ExpireFollowUpsHandler implements JobHandler<Record<string, never>> {
  private readonly logger = new Logger(ExpireFollowUpsHandler.name);

  constructor(
    private readonly db: Database,
    private readonly writer: FollowUpWriter,
  ) {}

  async run(): Promise<void> {
    const now = this.writer.clock.now();
    let count = 0;
    let failures = 0;
    let orgFailures = 0;
    for (const org of await this.orgsToExpire(now)) {
      try {
        const cutoff = expiryCutoff(now, org.tz, org.days);
        if (org.oldest >= cutoff) continue; // nothing overdue long enough yet: no query for this org
        for (let after = START; ; ) {
          const { rows } = await this.db.query<{ id: string; contact_id: string; at: string }>(
            // follow_ups_open_ix (org_id, scheduled_at) WHERE kind = 'follow_up' AND NOT resolved: the org's open
            // follow-ups due before the cutoff, in index order, from where the last page stopped
            `SELECT f.id, f.contact_id, f.scheduled_at::text AS at
               FROM follow_ups f
              WHERE f.org_id = $1 AND f.kind = 'follow_up' AND NOT f.resolved AND f.scheduled_at < $2::timestamptz
                AND (f.scheduled_at, f.id) > ($3::timestamptz, $4::uuid)
              ORDER BY f.scheduled_at, f.id LIMIT ${PAGE}`,
            [org.org_id, cutoff.toISOString(), after.at, after.id],
          );
          for (const r of rows) {
            // One follow-up that cannot be written (its contact busy past the writer's retries, a row the event log does
            // not know) is left for the next run; it must not stop the run for every follow-up after it, cluster-wide.
            try {
              const written = await this.writer.write(systemActor(org.org_id), r.contact_id, () => ({
                type: 'ExpireFollowUp',
                contactId: r.contact_id,
                followUpId: r.id,
                now: now.toISOString(),
                expireAfterDays: org.days,
                timezone: org.tz,
              }));
              if (written.events.some((e) => e.type === FollowUpExpired)) count++;
            } catch (error) {
              failures++;
              if (failures <= LOGGED) this.logger.warn({ followUpId: r.id, contactId: r.contact_id, err: error }, 'follow-up not expired this run');
            }
          }
          if (rows.length < PAGE) break;
          // scheduled_at as text keeps its microseconds: a Date would round it down and read the row again
          after = { at: rows[rows.length - 1].at, id: rows[rows.length - 1].id };
        }
      } catch (error) {
        // an unknown zone, or this org's query failing: the next orgs are still expired
        orgFailures++;
        if (orgFailures <= LOGGED) this.logger.warn({ orgId: org.org_id, timezone: org.tz, err: error }, "organization's follow-ups not expired this run");
      }
    }
    if (count) {
      expired.inc(count);
      this.logger.log({ expired: count }, 'follow-ups expired');
    }
    if (failures > LOGGED) this.logger.warn({ failures }, 'follow-ups not expired this run');
    if (orgFailures > LOGGED) this.logger.warn({ organizations: orgFailures }, "organizations' follow-ups not expired this run");
  }

  /**
   * The organizations that may have a follow-up to expire, with expireAfterDays, timezone (the settings', else the
   * organization's, as user.repository.ts ORG_TIMEZONE) and the due time of their oldest open follow-up. One query
   * whatever the number of orgs: one probe of follow_ups_open_ix per org (min(scheduled_at) is its first entry, a
   * Limit 1 index scan), and only orgs whose oldest open follow-up is before a bound no org's cutoff passes come back,
   * so a run with nothing to expire costs this query alone, however many orgs and follow-ups there are (a list of
   * every org, probed one query each, would cost a round trip per org every minute).
   *
   * The bound needs no time zone: the cutoff, the first instant dated today − N in the org's zone, is never after
   * B = now − N × 24 h + 26 h. B's wall clock is N × 24 h − 26 h earlier than now's, less the change of UTC offset
   * between them, which is under 26 h (offsets lie within −12 h … +14 h): no more than N × 24 h earlier, so B is
   * dated today − N or later. In hours, not days: `- interval '1 day'` would follow the session's DST.
   */
  private async orgsToExpire(now: Date): Promise<OrgToExpire[]> {
    const { rows } = await this.db.query<OrgToExpire>(
      `SELECT o.id AS org_id, x.days, x.tz, m.oldest
         FROM organizations o
         LEFT JOIN org_settings s ON s.org_id = o.id
        CROSS JOIN LATERAL (SELECT coalesce((s.settings->>'expireAfterDays')::int, 7) AS days,
                                   coalesce(s.settings->>'timezone', o.timezone) AS tz) x
        CROSS JOIN LATERAL (SELECT min(f.scheduled_at) AS oldest
                              FROM follow_ups f
                             WHERE f.org_id = o.id AND f.kind = 'follow_up' AND NOT f.resolved) m
        WHERE m.oldest < $1::timestamptz - make_interval(hours => 24 * x.days - 26)`,
      [now.toISOString()],
    );
    return rows;
  }
}

/**
 * The periodic expiry job: a BullMQ job scheduler (one schedule however many workers upsert it). Worker
 * processes assert it at boot and every minute, and jobs:reconcile re-creates it, so losing Redis loses no
 * more than a minute of expiry.
 *
 * Asserted in the background, never awaited by the boot: with Redis away BullMQ's upsert waits until Redis answers,
 * and a worker or all-in-one process started during an outage neither listened (no /health/live, no pushes) nor logged
 * anything until Redis came back. One upsert at a time: the one under way when Redis is away sets the schedule as soon
 * as it answers, and the minute's re-assertions do not pile up behind it.
 */
@Injectable()
@AsRecurringJob()
export class ExpiryScheduler implements RecurringJob, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(ExpiryScheduler.name);
  private timer?: NodeJS.Timeout;
  private asserting?: Promise<void>;
  private stopping = false;

  constructor(
    private readonly queues: JobQueues,
    private readonly config: ConfigService,
    @Inject(RUN_CONSUMERS) private readonly worker: boolean,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.worker) return;
    void this.assertSchedule();
    this.timer = setInterval(() => void this.assertSchedule(), 60_000);
    this.timer.unref();
  }

  /** An upsert still waiting for Redis fails as the queues close: no warning for that. */
  beforeApplicationShutdown(): void {
    this.stopping = true;
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** ensureSchedule, unless one is under way; a failure is logged and the next minute tries again. Never rejects. */
  assertSchedule(): Promise<void> {
    this.asserting ??= this.ensureSchedule()
      .catch((err: unknown) => {
        if (!this.stopping) this.logger.warn({ err }, 'expiry schedule not set in Redis; trying again within a minute');
      })
      .finally(() => (this.asserting = undefined));
    return this.asserting;
  }

  async ensureSchedule(): Promise<void> {
    await this.queues
      .queue(QueueName.Maintenance)
      .upsertJobScheduler(EXPIRE_FOLLOW_UPS, { every: Number(this.config.get('EXPIRY_INTERVAL_MS') ?? 60_000) }, { name: EXPIRE_FOLLOW_UPS, data: {} });
  }
}
