import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { Actor, Clock, ValidationError } from '@app/shared';
import { ContactsRepository, ContactWriter, FollowUpFields, followUpInput, KeyedRequest, uuidFromKey } from '@app/contacts';
import { outboundUrlProblem, SettingsRepository } from '@app/settings';
import { ScheduleFollowUpCommand } from './schedule-follow-up.command';

/** POST /api/contacts/:id/follow-ups: SPEC §5 defaults, source manual unless the client says otherwise. */
@CommandHandler(ScheduleFollowUpCommand)
export class ScheduleFollowUpHandler implements ICommandHandler<ScheduleFollowUpCommand, { id: string }> {
  constructor(
    // the contact writer itself, not FollowUpWriter: a keyed request hands it the request to compare a retry with
    private readonly writer: ContactWriter,
    private readonly contacts: ContactsRepository,
    private readonly settings: SettingsRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, contactId, fields, idempotencyKey }: ScheduleFollowUpCommand): Promise<{ id: string }> {
    await this.contacts.get(actor, contactId);
    // With an Idempotency-Key the id is derived from it (and the org, the caller and the contact: keys are each
    // client's own, so a key reused elsewhere, or by another integration, names another follow-up): a retry whose
    // first answer was lost appends nothing and answers the follow-up the first request scheduled, if it sends the
    // same fields (else 422), without checking its references again: they held then, and an agent deactivated since
    // must not make the retry of a request that succeeded a 400. An importer retrying freely no longer schedules a
    // second dial or SMS. Without a key, every request is a new follow-up.
    const id = idempotencyKey === null ? randomUUID() : uuidFromKey(`follow-up:api:${actor.orgId}:${actor.userId}:${contactId}:${idempotencyKey}`);
    const request: KeyedRequest | null =
      idempotencyKey === null ? null : { key: `follow-up:${id}`, fields: fingerprinted(fields), made: (state) => state.followUpIds.has(id) };
    if (request && (await this.writer.replay(actor, contactId, request))) return { id };
    await this.checkReferences(actor, fields);
    const now = this.clock.now();
    // a twin written meanwhile is found by the writer, which then appends nothing
    await this.writer.write(
      actor,
      contactId,
      () => ({ type: 'ScheduleFollowUp', contactId, source: fields.source ?? 'manual', followUp: followUpInput(id, fields, now) }),
      request ?? undefined,
    );
    return { id };
  }

  private async checkReferences(actor: Actor, fields: FollowUpFields): Promise<void> {
    if (fields.agentId && !(await this.contacts.activeStaff(actor.orgId, [fields.agentId])).has(fields.agentId)) {
      throw new ValidationError('agentId', `${fields.agentId} is not an active agent of this organization`);
    }
    if (fields.campaignId && !(await this.contacts.campaignExists(actor.orgId, fields.campaignId))) {
      throw new ValidationError('campaignId', `${fields.campaignId} is not a campaign of this organization`);
    }
    if (fields.type === 'webhook' && fields.url) {
      // The same rule as the settings' endpoints (SPEC §7); the resolved address is checked again when it is sent.
      const problem = outboundUrlProblem(fields.url, (await this.settings.get(actor.orgId)).webhooks.allowHttpHosts);
      if (problem) throw new ValidationError('url', problem);
    }
  }
}

/**
 * The §5 fields as the client sent them (no defaults filled in: a retry without scheduledAt is the same request,
 * though "in an hour" is later now), each named: the type makes a field added to FollowUpFields be added here.
 */
function fingerprinted(f: FollowUpFields): Record<keyof FollowUpFields, unknown> {
  return {
    type: f.type,
    scheduledAt: f.scheduledAt,
    agentId: f.agentId,
    priority: f.priority,
    maxAttempts: f.maxAttempts,
    allowOutOfWindow: f.allowOutOfWindow,
    notes: f.notes,
    campaignId: f.campaignId,
    source: f.source,
    message: f.message,
    url: f.url,
  };
}
