import { Body, Controller, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
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
import { ApiErrors, ApiKeyErrors } from '../http/error-response.dto';
import { RotateSigningSecretDto, UpdateSettingsDto } from './settings.dto';
import { RotatedSettingsDto, SettingsDto } from './settings.response.dto';

/**
 * The signing secret is for admins' eyes only (SPEC §7); the one a rotation replaced, for nobody's. So is what the
 * dialler's and the SMS provider's URLs carry beyond where they point: a query string often holds the provider's
 * token (credentials in the URL itself are refused), and agents and a dialler's key read the settings too.
 */
const present = (actor: Actor, settings: OrgSettings) => {
  if (actor.role === 'admin') return withoutPreviousSecret(settings);
  const s = withoutSecret(settings);
  return { ...s, dialler: { ...s.dialler, url: withoutQuery(s.dialler.url) }, sms: { ...s.sms, url: withoutQuery(s.sms.url) } };
};

/** A URL without its query string and fragment (`?…` → `?[redacted]`), so a reader sees where it points and that there is more. */
const withoutQuery = (url: string | null): string | null => {
  if (url === null) return null;
  const cut = url.search(/[?#]/);
  return cut < 0 ? url : `${url.slice(0, cut)}?[redacted]`;
};

@ApiTags('settings')
@ApiBearerAuth()
@ApiKeyErrors()
@Controller('api/settings')
export class SettingsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly settings: SettingsRepository,
  ) {}

  /** Every role may read them; the first read of an organization creates them with the defaults. */
  @Get()
  @ApiOkResponse({ type: SettingsDto })
  async get(@CurrentActor() actor: Actor) {
    return present(actor, await this.settings.ensureToShow(actor));
  }

  @Patch()
  @Roles('admin')
  @ApiOkResponse({ type: SettingsDto, description: 'The settings after the change' })
  @ApiErrors({ 400: 'A field invalid or unknown (each named), or a URL refused', 403: 'Not an admin' })
  async update(@CurrentActor() actor: Actor, @Body() body: UpdateSettingsDto) {
    const settings = await this.commands.execute<ChangeSettingsCommand, OrgSettingsWithSecret>(new ChangeSettingsCommand(actor, body as SettingsPatch));
    return present(actor, settings);
  }

  @Post('signing-secret/rotate')
  @Roles('admin')
  @HttpCode(200)
  @ApiOkResponse({ type: RotatedSettingsDto })
  @ApiErrors({ 400: 'graceSeconds invalid', 403: 'Not an admin' })
  async rotate(@CurrentActor() actor: Actor, @Body() body: RotateSigningSecretDto) {
    const settings = await this.commands.execute<RotateSigningSecretCommand, OrgSettingsWithSecret>(new RotateSigningSecretCommand(actor, body.graceSeconds));
    // When receivers must have the new secret by: the replaced one signs beside it until then (null: it already stopped).
    return { ...present(actor, settings), previousSigningSecretExpiresAt: settings.previousSigningSecret?.expiresAt ?? null };
  }
}
