/** Days of the week as the calling window names them, in week order. */
export const WEEK_DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type WeekDay = (typeof WEEK_DAYS)[number];

/** Lead statuses that auto-assignment may recycle (SPEC §7): leads nobody has spoken to. */
export const RECYCLABLE_STATUSES = ['Not Picked', 'Missed'] as const;
export type RecyclableStatus = (typeof RECYCLABLE_STATUSES)[number];

export const ASSIGNMENT_STRATEGIES = ['round_robin', 'least_loaded'] as const;
export type AssignmentStrategy = (typeof ASSIGNMENT_STRATEGIES)[number];

export const ASSIGNMENT_SCOPES = ['org', 'branch', 'department'] as const;
export type AssignmentScope = (typeof ASSIGNMENT_SCOPES)[number];

export interface CallingWindowSettings {
  readonly days: readonly WeekDay[];
  /** HH:MM, 24 h, in the contact's timezone. */
  readonly start: string;
  /** Exclusive; `24:00` is the end of the local day (a window ending 23:59 is closed in the day's last minute). */
  readonly end: string;
}

export interface AutoAssignmentSettings {
  readonly enabled: boolean;
  readonly statuses: readonly RecyclableStatus[];
  readonly delaySeconds: number;
  readonly strategy: AssignmentStrategy;
  readonly scope: AssignmentScope;
  readonly maxReassignments: number;
}

export interface EndpointSettings {
  readonly url: string | null;
}

export interface WebhookSettings {
  /** Hosts (names or IPs, lower case, no port) that may be reached over plain http or at a non-public address. */
  readonly allowHttpHosts: readonly string[];
}

/**
 * The secret a rotation replaced. Outbound requests are signed with it as well as with the new one until `expiresAt`,
 * so a receiver still verifying with it keeps accepting them while its owner switches over (Standard Webhooks allows
 * several signatures in `webhook-signature`).
 */
export interface PreviousSigningSecret {
  readonly secret: string;
  /** ISO instant; checked against the clock at each send, so a cached copy of the settings stops using it on time. */
  readonly expiresAt: string;
}

/**
 * An organization's settings (SPEC §7). `signingSecret` is absent only where no settings have been stored yet
 * (SettingsRepository.get before the first write); it is never shown to anyone but an admin.
 * `previousSigningSecret` is set by a rotation with an overlap (and left, unused, once it expires until the next one);
 * it is never shown to anyone, admins included.
 */
export interface OrgSettings {
  readonly timezone: string;
  readonly callingWindow: CallingWindowSettings;
  readonly snoozeDays: number;
  readonly expireAfterDays: number;
  readonly retryDelaySeconds: number;
  readonly attemptTimeoutSeconds: number;
  readonly autoAssignment: AutoAssignmentSettings;
  readonly dialler: EndpointSettings;
  readonly sms: EndpointSettings;
  readonly webhooks: WebhookSettings;
  readonly signingSecret?: string;
  readonly previousSigningSecret?: PreviousSigningSecret;
}

/** Settings as stored: the secret is always there. */
export type OrgSettingsWithSecret = OrgSettings & { readonly signingSecret: string };

/** Everything but the secrets: what `SettingsChanged` records and what non-admins see. */
export type PublicSettings = Omit<OrgSettings, 'signingSecret' | 'previousSigningSecret'>;

/** The settings sections that PATCH merges one level deep. */
export const NESTED_SECTIONS = ['callingWindow', 'autoAssignment', 'dialler', 'sms', 'webhooks'] as const;
export type NestedSection = (typeof NESTED_SECTIONS)[number];

/** A PATCH: any top-level field, and any field of a nested section. The secret is not patchable (it is rotated). */
export type SettingsPatch = {
  -readonly [K in keyof PublicSettings]?: K extends NestedSection ? { -readonly [F in keyof PublicSettings[K]]?: PublicSettings[K][F] } : PublicSettings[K];
};

/** SPEC §7 defaults; `timezone` is replaced by the organization's when the settings are first created. */
export const DEFAULT_SETTINGS: PublicSettings = Object.freeze({
  timezone: 'UTC',
  callingWindow: Object.freeze({ days: Object.freeze(['mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as WeekDay[]), start: '08:00', end: '21:00' }),
  snoozeDays: 3,
  expireAfterDays: 7,
  retryDelaySeconds: 900,
  attemptTimeoutSeconds: 3600,
  autoAssignment: Object.freeze({
    enabled: false,
    statuses: Object.freeze(['Not Picked', 'Missed'] as RecyclableStatus[]),
    delaySeconds: 0,
    strategy: 'round_robin' as const,
    scope: 'org' as const,
    maxReassignments: 3,
  }),
  dialler: Object.freeze({ url: null }),
  sms: Object.freeze({ url: null }),
  webhooks: Object.freeze({ allowHttpHosts: Object.freeze([] as string[]) }),
});

/** Inclusive bounds of the numeric settings (SPEC §7); shared by the HTTP DTO and the domain check. */
export const SETTINGS_LIMITS = {
  /** How long a rotated-out secret keeps signing beside the new one (POST /api/settings/signing-secret/rotate). */
  graceSeconds: { min: 0, max: 604_800 },
  snoozeDays: { min: 1, max: 365 },
  expireAfterDays: { min: 1, max: 365 },
  retryDelaySeconds: { min: 1, max: 604_800 },
  attemptTimeoutSeconds: { min: 1, max: 86_400 },
  delaySeconds: { min: 0, max: 2_592_000 },
  maxReassignments: { min: 0, max: 100 },
  allowHttpHosts: { max: 50 },
  url: { maxLength: 2048 },
} as const;

/** A rotation's overlap when the request names none: a day for every receiver to take the new secret. */
export const DEFAULT_SIGNING_SECRET_GRACE_SECONDS = 86_400;

/** HH:MM, 24 h. */
export const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;
/** A calling window's end: HH:MM, or 24:00 for the end of the day. */
export const END_HH_MM = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;

/** The fields of `base` (and only those), each replaced by `over`'s when given. */
function pick(base: Record<string, unknown>, over: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(base)) out[key] = over?.[key] !== undefined ? over[key] : base[key];
  return out;
}

/**
 * `patch` on top of `base`: top-level fields replace, the nested sections merge one level deep, arrays replace.
 * Only known fields are taken, in the canonical order of DEFAULT_SETTINGS (stored jsonb reorders keys); the
 * secrets of `base`, if any, are kept.
 */
export function mergeSettings<T extends OrgSettings>(base: T, patch: SettingsPatch): T {
  const b = base as unknown as Record<string, Record<string, unknown>>;
  const o = patch as Record<string, unknown>;
  const merged: Record<string, unknown> = {};
  for (const key of Object.keys(DEFAULT_SETTINGS)) {
    if ((NESTED_SECTIONS as readonly string[]).includes(key)) merged[key] = pick(b[key], o[key] as Record<string, unknown> | undefined);
    else merged[key] = o[key] !== undefined ? o[key] : b[key];
  }
  return { ...merged, ...secretsOf(base) } as unknown as T;
}

/** Stored settings with any field added since they were written filled in from the defaults. */
export function withDefaults(stored: Partial<OrgSettings>): OrgSettings {
  return { ...mergeSettings<OrgSettings>(DEFAULT_SETTINGS, stored as SettingsPatch), ...secretsOf(stored) };
}

/** The secrets of `settings`, only those it has (no undefined keys: the settings are compared and stored as JSON). */
export function secretsOf(settings: Partial<OrgSettings>): Pick<OrgSettings, 'signingSecret' | 'previousSigningSecret'> {
  const { signingSecret, previousSigningSecret } = settings;
  return { ...(signingSecret !== undefined && { signingSecret }), ...(previousSigningSecret !== undefined && { previousSigningSecret }) };
}

export function withoutSecret(settings: OrgSettings): PublicSettings {
  const { signingSecret: _secret, previousSigningSecret: _previous, ...rest } = settings;
  return rest;
}

/** What an admin may see: the current secret, never the previous one (it is being retired, and nobody needs it again). */
export function withoutPreviousSecret<T extends OrgSettings>(settings: T): Omit<T, 'previousSigningSecret'> {
  const { previousSigningSecret: _previous, ...rest } = settings;
  return rest;
}
