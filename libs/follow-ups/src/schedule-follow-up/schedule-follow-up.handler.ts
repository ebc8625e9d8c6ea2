import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { ValidationError } from '@app/shared';
import { ContactsRepository, followUpInput } from '@app/contacts';
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

  async execute({ actor, contactId, fields }: ScheduleFollowUpCommand): Promise<{ id: string }> {
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
    const id = randomUUID();
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
