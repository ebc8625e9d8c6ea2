import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ForbiddenError } from '@app/shared';
import { OrgSettingsWithSecret } from '../domain/settings';
import { SettingsWriter } from '../settings-writer';
import { ChangeSettingsCommand } from './change-settings.command';

@CommandHandler(ChangeSettingsCommand)
export class ChangeSettingsHandler implements ICommandHandler<ChangeSettingsCommand, OrgSettingsWithSecret> {
  constructor(private readonly writer: SettingsWriter) {}

  async execute({ actor, changes }: ChangeSettingsCommand): Promise<OrgSettingsWithSecret> {
    if (actor.role !== 'admin') throw new ForbiddenError('only an admin can change the settings');
    const { state } = await this.writer.write(actor, { type: 'ChangeSettings', changes });
    return state.settings!;
  }
}
