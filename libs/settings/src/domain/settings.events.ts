import { OrgSettingsWithSecret, PreviousSigningSecret, PublicSettings, SettingsPatch } from './settings';

export const SettingsInitialized = 'SettingsInitialized';
export const SettingsChanged = 'SettingsChanged';
export const SigningSecretRotated = 'SigningSecretRotated';

export interface SettingsInitializedData {
  readonly settings: OrgSettingsWithSecret;
}

export interface SettingsChangedData {
  /** The validated patch as it was applied. */
  readonly changes: SettingsPatch;
  /** The whole result, except the secret: it is recorded only where it is made (initialized, rotated). */
  readonly settings: PublicSettings;
}

export interface SigningSecretRotatedData {
  readonly signingSecret: string;
  /**
   * The secret replaced and when it stops signing; absent for a rotation with no overlap (graceSeconds 0) and in
   * events recorded before overlaps existed: then only the new secret signs, at once.
   */
  readonly previousSigningSecret?: PreviousSigningSecret;
}

export type SettingsEvent =
  | { type: typeof SettingsInitialized; data: SettingsInitializedData }
  | { type: typeof SettingsChanged; data: SettingsChangedData }
  | { type: typeof SigningSecretRotated; data: SigningSecretRotatedData };

export const SETTINGS_EVENT_TYPES = [SettingsInitialized, SettingsChanged, SigningSecretRotated] as const;

export const settingsStream = (orgId: string) => `settings-${orgId}`;
