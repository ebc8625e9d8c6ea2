import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { ValidationError } from '@app/shared';
import { ContactsRepository, followUpInput, uuidFromKey } from '@app/contacts';
import { outboundUrlProblem, SettingsRepository } from '@app/settings';
import { FollowUpWriter } from '../follow-up-writer';
import { ScheduleFollowUpCommand } from './schedule-follow-up.command';

/** POST /api/contacts/:id/follow-ups: SPEC §5 defaults, source manual unless the client says otherwise. */
@CommandHandler(ScheduleFollowUpCommand)
export class ScheduleFollowUpHandler implements ICommandHandler<ScheduleFollowUpCommand, { id: string }> {
  constructor(
    private readonly writer: FollowUpWriter,
    private readonly contacts: ContactsRepository,
    private readonly settings: SettingsRepository,
  ) {}

  async execute({ actor, contactId, fields, idempotencyKey }: ScheduleFollowUpCommand): Promise<{ id: string }> {
    await this.contacts.get(actor, contactId);
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
    // With an Idempotency-Key the id is derived from it (and the org, the caller and the contact: keys are each
    // client's own, so a key reused elsewhere, or by another integration, names another follow-up): a retry whose first answer was lost appends nothing (the decider's replay of an id it knows)
    // and answers the follow-up the first request scheduled. An importer retrying freely no longer schedules a second
    // dial or SMS. Without a key, every request is a new follow-up.
    const id = idempotencyKey === null ? randomUUID() : uuidFromKey(`follow-up:api:${actor.orgId}:${actor.userId}:${contactId}:${idempotencyKey}`);
    const now = this.writer.clock.now();
    await this.writer.write(actor, contactId, () => ({
      type: 'ScheduleFollowUp',
      contactId,
      source: fields.source ?? 'manual',
      followUp: followUpInput(id, fields, now),
    }));
    return { id };
  }
}
