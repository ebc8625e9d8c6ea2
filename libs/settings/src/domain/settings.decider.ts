import { isDeepStrictEqual } from 'node:util';
import { NotFoundError, ValidationError } from '@app/shared';
import {
  DEFAULT_SETTINGS,
  mergeSettings,
  NESTED_SECTIONS,
  OrgSettingsWithSecret,
  secretsOf,
  SETTINGS_LIMITS,
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
  /** The replaced secret keeps signing beside the new one for `graceSeconds` after `now` (0: not at all). */
  | { type: 'RotateSigningSecret'; signingSecret: string; graceSeconds: number; now: Date };

export function evolveSettings(state: SettingsState, event: SettingsEvent): SettingsState {
  switch (event.type) {
    case SettingsInitialized:
      return { settings: withDefaults(event.data.settings) as OrgSettingsWithSecret };
    case SettingsChanged:
      if (!state.settings) return state;
      return { settings: { ...withDefaults(event.data.settings), ...secretsOf(state.settings), signingSecret: state.settings.signingSecret } };
    case SigningSecretRotated: {
      if (!state.settings) return state;
      const { previousSigningSecret: _replaced, ...rest } = state.settings;
      const { signingSecret, previousSigningSecret } = event.data;
      return { settings: { ...rest, signingSecret, ...(previousSigningSecret && { previousSigningSecret }) } };
    }
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
      // the zone sent again as stored is no change (one taken before only IANA names were keeps working: settingsProblems)
      const { timezone, ...others } = command.changes;
      const patch: SettingsPatch = timezone === current.timezone ? others : command.changes;
      assertValidSettings(withoutSecret(mergeSettings(current, patch)), patch);
      const changes = normalizePatch(patch);
      const next = withoutSecret(mergeSettings(current, changes));
      if (isDeepStrictEqual(next, withoutSecret(current))) return [];
      return [{ type: SettingsChanged, data: { changes, settings: next } }];
    }
    case 'RotateSigningSecret': {
      const current = requireSettings(state);
      assertSecret(command.signingSecret);
      assertGraceSeconds(command.graceSeconds);
      if (command.signingSecret === current.signingSecret) return [];
      if (command.graceSeconds === 0) return [{ type: SigningSecretRotated, data: { signingSecret: command.signingSecret } }];
      // Only the secret being replaced overlaps, even when a rotation comes during another's overlap: the one before
      // it stops at once. Receivers then need to know at most two secrets, and a second rotation is most often made
      // because the first new secret went astray or leaked, which is no reason to keep the one before it alive.
      const expiresAt = new Date(command.now.getTime() + command.graceSeconds * 1000).toISOString();
      return [{ type: SigningSecretRotated, data: { signingSecret: command.signingSecret, previousSigningSecret: { secret: current.signingSecret, expiresAt } } }];
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

function assertGraceSeconds(seconds: number): void {
  const { min, max } = SETTINGS_LIMITS.graceSeconds;
  if (!Number.isInteger(seconds) || seconds < min || seconds > max) throw new ValidationError('graceSeconds', `must be a whole number of seconds from ${min} to ${max}`);
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
