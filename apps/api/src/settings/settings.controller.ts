import { Body, Controller, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Actor } from '@app/shared';
import {
  ChangeSettingsCommand,
  OrgSettings,
  OrgSettingsWithSecret,
  RotateSigningSecretCommand,
  SettingsPatch,
  SettingsRepository,
  withoutPreviousSecret,
  withoutSecret,
} from '@app/settings';
import { CurrentActor, Roles } from '../auth/auth.decorators';
import { RotateSigningSecretDto, UpdateSettingsDto } from './settings.dto';

/** The signing secret is for admins' eyes only (SPEC §7); the one a rotation replaced, for nobody's. */
const present = (actor: Actor, settings: OrgSettings) => (actor.role === 'admin' ? withoutPreviousSecret(settings) : withoutSecret(settings));

@ApiTags('settings')
@ApiBearerAuth()
@Controller('api/settings')
export class SettingsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly settings: SettingsRepository,
  ) {}

  /** Every role may read them; the first read of an organization creates them with the defaults. */
  @Get()
  async get(@CurrentActor() actor: Actor) {
    return present(actor, await this.settings.ensure(actor));
  }

  @Patch()
  @Roles('admin')
  async update(@CurrentActor() actor: Actor, @Body() body: UpdateSettingsDto) {
    const settings = await this.commands.execute<ChangeSettingsCommand, OrgSettingsWithSecret>(new ChangeSettingsCommand(actor, body as SettingsPatch));
    return present(actor, settings);
  }

  @Post('signing-secret/rotate')
  @Roles('admin')
  @HttpCode(200)
  async rotate(@CurrentActor() actor: Actor, @Body() body: RotateSigningSecretDto) {
    const settings = await this.commands.execute<RotateSigningSecretCommand, OrgSettingsWithSecret>(new RotateSigningSecretCommand(actor, body.graceSeconds));
    // When receivers must have the new secret by: the replaced one signs beside it until then (null: it already stopped).
    return { ...present(actor, settings), previousSigningSecretExpiresAt: settings.previousSigningSecret?.expiresAt ?? null };
  }
}
