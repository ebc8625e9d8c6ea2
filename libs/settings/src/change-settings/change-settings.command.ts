import { Actor } from '@app/shared';
import { SettingsPatch } from '../domain/settings';

/** Merges `changes` into the organization's settings (admins only). Answers the whole result. */
export class ChangeSettingsCommand {
  constructor(
    readonly actor: Actor,
    readonly changes: SettingsPatch,
  ) {}
}
