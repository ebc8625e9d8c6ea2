import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock, ForbiddenError } from '@app/shared';
import { OrgSettingsWithSecret } from '../domain/settings';
import { generateSigningSecret } from '../domain/signing-secret';
import { SettingsWriter } from '../settings-writer';
import { RotateSigningSecretCommand } from './rotate-signing-secret.command';

@CommandHandler(RotateSigningSecretCommand)
export class RotateSigningSecretHandler implements ICommandHandler<RotateSigningSecretCommand, OrgSettingsWithSecret> {
  constructor(
    private readonly writer: SettingsWriter,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, graceSeconds }: RotateSigningSecretCommand): Promise<OrgSettingsWithSecret> {
    if (actor.role !== 'admin') throw new ForbiddenError('only an admin can rotate the signing secret');
    const command = { type: 'RotateSigningSecret', signingSecret: generateSigningSecret(), graceSeconds, now: this.clock.now() } as const;
    const { state } = await this.writer.write(actor, command);
    return state.settings!;
  }
}
