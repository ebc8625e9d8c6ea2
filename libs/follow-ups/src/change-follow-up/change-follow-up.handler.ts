import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ContactCommand, ContactState, snoozeUntil } from '@app/contacts';
import { SettingsRepository } from '@app/settings';
import { FollowUpsRepository } from '../follow-ups.repository';
import { FollowUpWriter } from '../follow-up-writer';
import { ChangeFollowUpCommand } from './change-follow-up.command';

/**
 * Snooze (snoozeDays calendar days from now, in the contact's timezone), reschedule, cancel, complete by hand. An
 * illegal transition is a 409 naming the status; so is a snooze that would bring the follow-up forward.
 */
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
    let command: (state: ContactState) => ContactCommand;
    switch (change.action) {
      case 'snooze': {
        const { snoozeDays, timezone } = await this.settings.get(actor.orgId);
        command = (state) => ({ type: 'SnoozeFollowUp', contactId, followUpId, until: snoozeUntil(now, snoozeDays, state.timezone ?? timezone) });
        break;
      }
      case 'reschedule':
        command = () => ({ type: 'RescheduleFollowUp', contactId, followUpId, scheduledAt: change.scheduledAt });
        break;
      case 'cancel':
        command = () => ({ type: 'CancelFollowUp', contactId, followUpId, reason: change.reason ?? null });
        break;
      case 'complete':
        command = () => ({ type: 'CompleteFollowUp', contactId, followUpId, how: change.how ?? 'manual', by: actor.userId });
        break;
    }
    await this.writer.write(actor, contactId, command);
  }
}
