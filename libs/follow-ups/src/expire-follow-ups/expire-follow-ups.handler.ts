import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Database, systemActor } from '@app/shared';
import { RUN_CONSUMERS } from '@app/event-store';
import { AsRecurringJob, HandlesJob, JobHandler, JobQueues, QueueName, RecurringJob } from '@app/queue';
import { FollowUpExpired } from '@app/contacts';
import { Counter } from 'prom-client';
import { EXPIRE_FOLLOW_UPS } from '../follow-up.jobs';
import { FollowUpWriter } from '../follow-up-writer';

const expired = new Counter({ name: 'follow_ups_expired_total', help: 'Follow-ups expired by the periodic job' });
const PAGE = 500;

/**
 * SPEC §5 expiry: an open follow-up overdue for longer than the org's expireAfterDays becomes expired. Overdue is
 * "due date before today", so it expires when today is more than N calendar days past its due date, days of the
 * org's timezone (follow-up.decider.ts expire): the hub never shows it "overdue by N days" and then drops it mid-day.
 * Until 2026-12-07 it was N × 24 h from its due time, up to a day earlier.
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
    let after = '00000000-0000-0000-0000-000000000000';
    let count = 0;
    let failures = 0;
    for (;;) {
      const { rows } = await this.db.query<{ id: string; org_id: string; contact_id: string; days: number; tz: string }>(
        `SELECT f.id, f.org_id, f.contact_id, x.days, x.tz
           FROM follow_ups f
           JOIN organizations o ON o.id = f.org_id
           LEFT JOIN org_settings s ON s.org_id = f.org_id
          CROSS JOIN LATERAL (SELECT coalesce((s.settings->>'expireAfterDays')::int, 7) AS days,
                                     coalesce(s.settings->>'timezone', o.timezone) AS tz) x
          WHERE f.kind = 'follow_up' AND NOT f.resolved AND f.id > $2
            -- coarse, in hours (N days less the longest DST shift): what cannot have expired yet is left at once
            AND f.scheduled_at < $1::timestamptz - make_interval(hours => 24 * x.days - 2)
            -- exact, as the decider counts: the (N + 1)th local midnight after the due date has passed. Only what
            -- expires is read and written each run, not every follow-up of its last day again every minute.
            AND (date_trunc('day', f.scheduled_at AT TIME ZONE x.tz) + make_interval(days => x.days + 1)) AT TIME ZONE x.tz <= $1::timestamptz
          ORDER BY f.id LIMIT ${PAGE}`,
        [now.toISOString(), after],
      );
      for (const r of rows) {
        // One follow-up that cannot be written (its contact busy past the writer's retries, a row the event log does
        // not know) is left for the next run; it must not stop the run for every follow-up after it, cluster-wide.
        try {
          const written = await this.writer.write(systemActor(r.org_id), r.contact_id, () => ({
            type: 'ExpireFollowUp',
            contactId: r.contact_id,
            followUpId: r.id,
            now: now.toISOString(),
            expireAfterDays: r.days,
            timezone: r.tz,
          }));
          if (written.events.some((e) => e.type === FollowUpExpired)) count++;
        } catch (error) {
          failures++;
          if (failures <= 10) this.logger.warn({ followUpId: r.id, contactId: r.contact_id, err: error }, 'follow-up not expired this run');
        }
      }
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1].id;
    }
    if (count) {
      expired.inc(count);
      this.logger.log({ expired: count }, 'follow-ups expired');
    }
    if (failures > 10) this.logger.warn({ failures }, 'follow-ups not expired this run');
  }
}

/**
 * The periodic expiry job: a BullMQ job scheduler (one schedule however many workers upsert it). Worker
 * processes assert it at boot and every minute, and jobs:reconcile re-creates it, so losing Redis loses no
 * more than a minute of expiry.
 */
@Injectable()
@AsRecurringJob()
export class ExpiryScheduler implements RecurringJob, OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly queues: JobQueues,
    private readonly config: ConfigService,
    @Inject(RUN_CONSUMERS) private readonly worker: boolean,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.worker) return;
    await this.ensureSchedule();
    this.timer = setInterval(() => void this.ensureSchedule().catch(() => undefined), 60_000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async ensureSchedule(): Promise<void> {
    await this.queues
      .queue(QueueName.Maintenance)
      .upsertJobScheduler(EXPIRE_FOLLOW_UPS, { every: Number(this.config.get('EXPIRY_INTERVAL_MS') ?? 60_000) }, { name: EXPIRE_FOLLOW_UPS, data: {} });
  }
}
