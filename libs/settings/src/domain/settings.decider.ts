import { isDeepStrictEqual } from 'node:util';
import { NotFoundError, ValidationError } from '@app/shared';
import {
  DEFAULT_SETTINGS,
  mergeSettings,
  NESTED_SECTIONS,
  OrgSettingsWithSecret,
  SettingsPatch,
  WEEK_DAYS,
  WeekDay,
  withDefaults,
  withoutSecret,
} from './settings';
import { SettingsChanged, SettingsEvent, SettingsInitialized, SigningSecretRotated } from './settings.events';
import { assertValidSettings, normalizeHost } from './settings.validation';
import { SIGNING_SECRET } from './signing-secret';

export interface SettingsState {
  /** null until SettingsInitialized. */
  readonly settings: OrgSettingsWithSecret | null;
}

export const initialSettingsState: SettingsState = { settings: null };

export type SettingsCommand =
  /** Created lazily on an organization's first read or write; the handler brings the org's timezone and a fresh secret. */
  | { type: 'InitializeSettings'; timezone: string; signingSecret: string }
  | { type: 'ChangeSettings'; changes: SettingsPatch }
  | { type: 'RotateSigningSecret'; signingSecret: string };

export function evolveSettings(state: SettingsState, event: SettingsEvent): SettingsState {
  switch (event.type) {
    case SettingsInitialized:
      return { settings: withDefaults(event.data.settings) as OrgSettingsWithSecret };
    case SettingsChanged:
      if (!state.settings) return state;
      return { settings: { ...withDefaults(event.data.settings), signingSecret: state.settings.signingSecret } };
    case SigningSecretRotated:
      if (!state.settings) return state;
      return { settings: { ...state.settings, signingSecret: event.data.signingSecret } };
  }
}

export function decideSettings(command: SettingsCommand, state: SettingsState): SettingsEvent[] {
  switch (command.type) {
    case 'InitializeSettings': {
      if (state.settings) return []; // another writer created them first: theirs stand
      assertSecret(command.signingSecret);
      const settings: OrgSettingsWithSecret = { ...DEFAULT_SETTINGS, timezone: command.timezone, signingSecret: command.signingSecret };
      assertValidSettings(withoutSecret(settings));
      return [{ type: SettingsInitialized, data: { settings } }];
    }
    case 'ChangeSettings': {
      const current = requireSettings(state);
      assertPatchShape(command.changes);
      assertValidSettings(withoutSecret(mergeSettings(current, command.changes)), command.changes);
      const changes = normalizePatch(command.changes);
      const next = withoutSecret(mergeSettings(current, changes));
      if (isDeepStrictEqual(next, withoutSecret(current))) return [];
      return [{ type: SettingsChanged, data: { changes, settings: next } }];
    }
    case 'RotateSigningSecret': {
      const current = requireSettings(state);
      assertSecret(command.signingSecret);
      if (command.signingSecret === current.signingSecret) return [];
      return [{ type: SigningSecretRotated, data: { signingSecret: command.signingSecret } }];
    }
  }
}

export const settingsDecider = { initial: initialSettingsState, evolve: evolveSettings, decide: decideSettings };

function requireSettings(state: SettingsState): OrgSettingsWithSecret {
  if (!state.settings) throw new NotFoundError('settings');
  return state.settings;
}

function assertSecret(secret: string): void {
  if (!SIGNING_SECRET.test(secret)) throw new ValidationError('signingSecret', 'must be whsec_ and the base64 of 32 bytes');
}

/** The known fields only; a nested section must be an object (its fields are checked on the merged result). */
function assertPatchShape(changes: SettingsPatch): void {
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) throw new ValidationError('body', 'must be an object');
  const known = Object.keys(DEFAULT_SETTINGS);
  for (const [key, value] of Object.entries(changes)) {
    if (!known.includes(key)) throw new ValidationError(key, 'is not a setting that can be changed');
    if (value === undefined) continue;
    if (!(NESTED_SECTIONS as readonly string[]).includes(key)) continue;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(key, 'must be an object');
    const fields = Object.keys((DEFAULT_SETTINGS as unknown as Record<string, object>)[key]);
    for (const field of Object.keys(value)) {
      if (!fields.includes(field)) throw new ValidationError(`${key}.${field}`, 'is not a setting that can be changed');
    }
  }
}

/** Only the fields given; days in week order; hosts normalised, once each. Runs on a valid patch. */
function normalizePatch(changes: SettingsPatch): SettingsPatch {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    if (!(NESTED_SECTIONS as readonly string[]).includes(key)) out[key] = value;
    else {
      const fields = Object.entries(value as object).filter(([, v]) => v !== undefined);
      if (fields.length) out[key] = Object.fromEntries(fields);
    }
  }
  const patch = out as SettingsPatch;
  if (patch.callingWindow?.days) {
    const days = [...patch.callingWindow.days].sort((a: WeekDay, b: WeekDay) => WEEK_DAYS.indexOf(a) - WEEK_DAYS.indexOf(b));
    patch.callingWindow = { ...patch.callingWindow, days };
  }
  if (patch.webhooks?.allowHttpHosts) patch.webhooks = { ...patch.webhooks, allowHttpHosts: [...new Set(patch.webhooks.allowHttpHosts.map(normalizeHost))] };
  return patch;
}
