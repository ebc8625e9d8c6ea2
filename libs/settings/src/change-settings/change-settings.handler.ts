import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ForbiddenError } from '@app/shared';
import { UserRepository } from '@app/tenancy';
import { OrgSettingsWithSecret } from '../domain/settings';
import { SettingsWriter } from '../settings-writer';
import { ChangeSettingsCommand } from './change-settings.command';

@CommandHandler(ChangeSettingsCommand)
export class ChangeSettingsHandler implements ICommandHandler<ChangeSettingsCommand, OrgSettingsWithSecret> {
  constructor(
    private readonly writer: SettingsWriter,
    private readonly users: UserRepository,
  ) {}

  async execute({ actor, changes }: ChangeSettingsCommand): Promise<OrgSettingsWithSecret> {
    if (actor.role !== 'admin') throw new ForbiddenError('only an admin can change the settings');
    const { state } = await this.writer.write(actor, { type: 'ChangeSettings', changes });
    // The authenticated users of this process carry the org's timezone when they have none of their own: the next
    // request's "today" (hub, follow-up report) must be the new zone's, as after a change to a user (other processes
    // within AUTH_CACHE_MS).
    if (changes.timezone !== undefined) this.users.forgetActors();
    return state.settings!;
  }
}
