import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ContactCommand } from '@app/contacts';
import { SettingsRepository } from '@app/settings';
import { FollowUpsRepository } from '../follow-ups.repository';
import { FollowUpWriter } from '../follow-up-writer';
import { ChangeFollowUpCommand } from './change-follow-up.command';

/** Snooze (now + snoozeDays), reschedule, cancel, complete by hand. An illegal transition is a 409 naming the status. */
@CommandHandler(ChangeFollowUpCommand)
export class ChangeFollowUpHandler implements ICommandHandler<ChangeFollowUpCommand, void> {
  constructor(
    private readonly writer: FollowUpWriter,
    private readonly followUps: FollowUpsRepository,
    private readonly settings: SettingsRepository,
  ) {}

  async execute({ actor, followUpId, change }: ChangeFollowUpCommand): Promise<void> {
    const { contactId } = await this.followUps.get(actor, followUpId);
    const now = this.writer.clock.now();
    let command: ContactCommand;
    switch (change.action) {
      case 'snooze': {
        const { snoozeDays } = await this.settings.get(actor.orgId);
        command = { type: 'SnoozeFollowUp', contactId, followUpId, until: new Date(now.getTime() + snoozeDays * 86_400_000).toISOString() };
        break;
      }
      case 'reschedule':
        command = { type: 'RescheduleFollowUp', contactId, followUpId, scheduledAt: change.scheduledAt };
        break;
      case 'cancel':
        command = { type: 'CancelFollowUp', contactId, followUpId, reason: change.reason ?? null };
        break;
      case 'complete':
        command = { type: 'CompleteFollowUp', contactId, followUpId, how: change.how ?? 'manual', by: actor.userId };
        break;
    }
    await this.writer.write(actor, contactId, () => command);
  }
}
