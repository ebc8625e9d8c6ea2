import { Injectable, Logger } from '@nestjs/common';
import { Database } from '@app/shared';
import { EventStore, foldStream } from '@app/event-store';
import { HandlesJob, JobHandler } from '@app/queue';
import { OutboundHttp, SettingsRepository } from '@app/settings';
import {
  checkWindow,
  contactDecider,
  contactStream,
  effectiveWindow,
  FollowUpAttemptStarted,
  FollowUpState,
  toFollowUpWindowCheck,
  CallingWindow,
} from '@app/contacts';
import { EXECUTE_FOLLOW_UP, ExecuteFollowUpPayload } from '../follow-up.jobs';
import { FollowUpWriter, systemActor } from '../follow-up-writer';

/**
 * SPEC §5 execution. Re-reads the follow-up; a job made for another schedule, or for a follow-up no longer
 * waiting, does nothing. Then the calling window (contact's time zone, campaign narrowing) defers or lets it
 * run; an attempt is counted in the event stream (never BullMQ's counter) and performed by type. If the
 * process dies after counting the attempt, BullMQ runs the job again and it performs the open attempt again
 * (same message id, so receivers can drop the repeat) instead of counting another.
 */
@Injectable()
@HandlesJob(EXECUTE_FOLLOW_UP)
export class ExecuteFollowUpHandler implements JobHandler<ExecuteFollowUpPayload> {
  private readonly logger = new Logger(ExecuteFollowUpHandler.name);

  constructor(
    private readonly store: EventStore,
    private readonly writer: FollowUpWriter,
    private readonly settings: SettingsRepository,
    private readonly outbound: OutboundHttp,
    private readonly db: Database,
  ) {}

  async run(job: ExecuteFollowUpPayload): Promise<void> {
    const actor = systemActor(job.orgId);
    const state = foldStream(contactDecider, await this.store.readStream(job.orgId, contactStream(job.contactId)));
    let f = state.followUps.get(job.followUpId);
    if (!f || f.schedule !== job.schedule) return;

    if (!f.attemptOpen) {
      if (f.status !== 'scheduled' && f.status !== 'snoozed') return;
      const settings = await this.settings.get(job.orgId);
      const window = effectiveWindow(settings.callingWindow as CallingWindow, await this.campaignWindow(job.orgId, f.campaignId));
      const now = this.writer.clock.now();
      const written = await this.writer.write(actor, job.contactId, () => ({
        type: 'StartFollowUpAttempt',
        contactId: job.contactId,
        followUpId: job.followUpId,
        schedule: job.schedule,
        now: now.toISOString(),
        window: toFollowUpWindowCheck(checkWindow(now, state.timezone, window)),
      }));
      if (!written.events.some((e) => e.type === FollowUpAttemptStarted)) return; // deferred, or stale by now
      f = written.events.reduce(contactDecider.evolve, written.state).followUps.get(job.followUpId)!;
    } else if (f.status === 'queued') {
      // A call attempt already handed to the dialler (or waiting for the agent): it ends with a call or a timeout.
      return;
    }
    await this.perform(job, f, state.phone);
  }

  private async perform(job: ExecuteFollowUpPayload, f: FollowUpState, phone: string): Promise<void> {
    const settings = await this.settings.get(job.orgId);
    // Stable across re-runs of this attempt (receivers drop the repeat), new for every attempt: a withdrawn
    // attempt's number can come again, but never with the same schedule.
    const messageId = `${f.id}.${f.schedule}.${f.attempts}`;
    const common = { followUpId: f.id, contactId: job.contactId, attempt: f.attempts, maxAttempts: f.maxAttempts, scheduledAt: f.scheduledAt };
    let outcome: { ok: boolean; error: string | null; status?: number | null };
    switch (f.type) {
      case 'webhook': {
        const { rows } = await this.db.query<{ url: string; notes: string | null }>('SELECT url, notes FROM follow_ups WHERE id = $1', [f.id]);
        outcome = await this.outbound.post(job.orgId, { url: rows[0]?.url ?? '', messageId, body: { type: 'follow_up.due', ...common, notes: rows[0]?.notes ?? null } });
        break;
      }
      case 'sms': {
        if (!settings.sms.url) {
          outcome = { ok: false, error: 'no SMS provider configured' };
          break;
        }
        const { rows } = await this.db.query<{ message: string }>('SELECT message FROM follow_ups WHERE id = $1', [f.id]);
        outcome = await this.outbound.post(job.orgId, { url: settings.sms.url, messageId, body: { type: 'sms.send', ...common, to: phone, message: rows[0]?.message ?? '' } });
        break;
      }
      case 'call': {
        // Queued: the contact shows in its agent's hub anyway. With a dialler, ask it to dial; the attempt then
        // ends with the next call for it or with the timeout job. Without one, the agent's call ends it.
        if (!settings.dialler.url) return;
        const dial = await this.outbound.post(job.orgId, {
          url: settings.dialler.url,
          messageId,
          body: { type: 'call.dial', ...common, to: phone, agentId: f.agentId },
        });
        if (dial.ok) return;
        outcome = dial;
        break;
      }
      default:
        return;
    }
    if (!outcome.ok) this.logger.warn({ followUpId: f.id, attempt: f.attempts, error: outcome.error }, 'follow-up attempt failed');
    const now = this.writer.clock.now();
    await this.writer.write(systemActor(job.orgId), job.contactId, () => ({
      type: 'RecordFollowUpAttemptResult',
      contactId: job.contactId,
      followUpId: f.id,
      attempt: f.attempts,
      success: outcome.ok,
      reason: outcome.ok ? null : (outcome.error ?? `status ${outcome.status}`),
      detail: outcome.ok ? `status ${outcome.status ?? ''}`.trim() : null,
      retryAt: new Date(now.getTime() + settings.retryDelaySeconds * 1000).toISOString(),
    }));
  }

  private async campaignWindow(orgId: string, campaignId: string | null): Promise<CallingWindow | null> {
    if (!campaignId) return null;
    const { rows } = await this.db.query<{ calling_window: CallingWindow | null }>('SELECT calling_window FROM campaigns WHERE org_id = $1 AND id = $2', [
      orgId,
      campaignId,
    ]);
    return rows[0]?.calling_window ?? null;
  }
}
