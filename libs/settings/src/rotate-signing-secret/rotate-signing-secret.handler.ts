import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ForbiddenError } from '@app/shared';
import { OrgSettingsWithSecret } from '../domain/settings';
import { generateSigningSecret } from '../domain/signing-secret';
import { SettingsWriter } from '../settings-writer';
import { RotateSigningSecretCommand } from './rotate-signing-secret.command';

@CommandHandler(RotateSigningSecretCommand)
export class RotateSigningSecretHandler implements ICommandHandler<RotateSigningSecretCommand, OrgSettingsWithSecret> {
  constructor(private readonly writer: SettingsWriter) {}

  async execute({ actor }: RotateSigningSecretCommand): Promise<OrgSettingsWithSecret> {
    if (actor.role !== 'admin') throw new ForbiddenError('only an admin can rotate the signing secret');
    const { state } = await this.writer.write(actor, { type: 'RotateSigningSecret', signingSecret: generateSigningSecret() });
    return state.settings!;
  }
}
