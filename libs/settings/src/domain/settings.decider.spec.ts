import { NotFoundError, ValidationError } from '@app/shared';
import { DEFAULT_SETTINGS, OrgSettingsWithSecret, withoutSecret } from './settings';
import { decideSettings, evolveSettings, initialSettingsState, SettingsState } from './settings.decider';
import { SettingsChanged, SettingsEvent, SettingsInitialized, SigningSecretRotated } from './settings.events';

const SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.alloc(32, 2).toString('base64')}`;
const initialized: SettingsEvent = { type: SettingsInitialized, data: { settings: { ...DEFAULT_SETTINGS, timezone: 'Europe/London', signingSecret: SECRET } } };
const given = (events: SettingsEvent[]): SettingsState => events.reduce(evolveSettings, initialSettingsState);
const settingsOf = (events: SettingsEvent[]): OrgSettingsWithSecret => given(events).settings!;

describe(decideSettings.name, () => {
  describe('InitializeSettings', () => {
    it('should create the defaults with the org timezone and the secret when there are none', () => {
      expect(decideSettings({ type: 'InitializeSettings', timezone: 'Europe/London', signingSecret: SECRET }, given([]))).toEqual([initialized]);
    });

    it('should record nothing when they exist already (the first writer wins)', () => {
      expect(decideSettings({ type: 'InitializeSettings', timezone: 'UTC', signingSecret: OTHER_SECRET }, given([initialized]))).toEqual([]);
    });

    it('should refuse a secret that is not in the Standard Webhooks format', () => {
      expect(() => decideSettings({ type: 'InitializeSettings', timezone: 'UTC', signingSecret: 'secret' }, given([]))).toThrow(ValidationError);
    });
  });

  describe('ChangeSettings', () => {
    it('should merge nested sections one level deep and record the patch and the whole result without the secret', () => {
      const events = decideSettings({ type: 'ChangeSettings', changes: { snoozeDays: 5, callingWindow: { start: '09:00' } } }, given([initialized]));
      expect(events).toEqual([
        {
          type: SettingsChanged,
          data: {
            changes: { snoozeDays: 5, callingWindow: { start: '09:00' } },
            settings: { ...DEFAULT_SETTINGS, timezone: 'Europe/London', snoozeDays: 5, callingWindow: { ...DEFAULT_SETTINGS.callingWindow, start: '09:00' } },
          },
        },
      ]);
      expect(JSON.stringify(events)).not.toContain(SECRET);
    });

    it('should keep the secret when a change is applied', () => {
      const changed = decideSettings({ type: 'ChangeSettings', changes: { expireAfterDays: 10 } }, given([initialized]));
      expect(settingsOf([initialized, ...changed])).toEqual({ ...DEFAULT_SETTINGS, timezone: 'Europe/London', expireAfterDays: 10, signingSecret: SECRET });
    });

    it('should take a zone sent again as stored, one taken before only IANA names were, and refuse a new such zone', () => {
      const legacy: SettingsEvent = { type: SettingsInitialized, data: { settings: { ...DEFAULT_SETTINGS, timezone: 'IST', signingSecret: SECRET } } };
      const changed = decideSettings({ type: 'ChangeSettings', changes: { timezone: 'IST', snoozeDays: 2 } }, given([legacy]));
      expect(settingsOf([legacy, ...changed])).toMatchObject({ timezone: 'IST', snoozeDays: 2 });
      expect(() => decideSettings({ type: 'ChangeSettings', changes: { timezone: 'BST' } }, given([legacy]))).toThrow(ValidationError);
    });

    it('should check the end of the window against the stored start', () => {
      const later = decideSettings({ type: 'ChangeSettings', changes: { callingWindow: { start: '12:00', end: '20:00' } } }, given([initialized]));
      expect(() => decideSettings({ type: 'ChangeSettings', changes: { callingWindow: { end: '11:00' } } }, given([initialized, ...later]))).toThrow(
        expect.objectContaining({ field: 'callingWindow.end' }),
      );
    });

    it('should record an end of 24:00 (calling up to midnight) and refuse it as a start', () => {
      const untilMidnight = decideSettings({ type: 'ChangeSettings', changes: { callingWindow: { end: '24:00' } } }, given([initialized]));
      expect(settingsOf([initialized, ...untilMidnight]).callingWindow).toEqual({ ...DEFAULT_SETTINGS.callingWindow, end: '24:00' });
      expect(() => decideSettings({ type: 'ChangeSettings', changes: { callingWindow: { start: '24:00' } } }, given([initialized, ...untilMidnight]))).toThrow(
        expect.objectContaining({ field: 'callingWindow.start' }),
      );
    });

    it('should name the start, the field sent, when a start sent alone falls after the stored end', () => {
      expect(() => decideSettings({ type: 'ChangeSettings', changes: { callingWindow: { start: '22:00' } } }, given([initialized]))).toThrow(
        expect.objectContaining({ field: 'callingWindow.start', message: expect.stringContaining('callingWindow.end (21:00)') }),
      );
    });

    it('should name the first bad field and list every problem', () => {
      const attempt = () => decideSettings({ type: 'ChangeSettings', changes: { timezone: 'Nowhere/Land', snoozeDays: 0 } }, given([initialized]));
      expect(attempt).toThrow(ValidationError);
      expect(attempt).toThrow(expect.objectContaining({ field: 'timezone', message: expect.stringContaining('snoozeDays') }));
    });

    it('should refuse the signing secret and unknown fields', () => {
      const patch = (changes: unknown) => () => decideSettings({ type: 'ChangeSettings', changes: changes as never }, given([initialized]));
      expect(patch({ signingSecret: OTHER_SECRET })).toThrow(expect.objectContaining({ field: 'signingSecret' }));
      expect(patch({ callingWindow: { lunch: '12:00' } })).toThrow(expect.objectContaining({ field: 'callingWindow.lunch' }));
      expect(patch({ dialler: null })).toThrow(expect.objectContaining({ field: 'dialler' }));
    });

    it('should put days in week order and normalise hosts', () => {
      const [event] = decideSettings(
        {
          type: 'ChangeSettings',
          changes: { callingWindow: { days: ['fri', 'mon'] }, webhooks: { allowHttpHosts: ['Dialler.Internal', 'dialler.internal', '[::1]'] } },
        },
        given([initialized]),
      );
      expect(event.type === SettingsChanged && event.data.changes).toEqual({
        callingWindow: { days: ['mon', 'fri'] },
        webhooks: { allowHttpHosts: ['dialler.internal', '::1'] },
      });
    });

    it('should record nothing when nothing changes', () => {
      expect(decideSettings({ type: 'ChangeSettings', changes: { snoozeDays: 3, dialler: { url: null } } }, given([initialized]))).toEqual([]);
      expect(decideSettings({ type: 'ChangeSettings', changes: {} }, given([initialized]))).toEqual([]);
    });

    it('should answer not found before the settings exist', () => {
      expect(() => decideSettings({ type: 'ChangeSettings', changes: { snoozeDays: 5 } }, given([]))).toThrow(NotFoundError);
    });
  });

  describe('RotateSigningSecret', () => {
    const NOW = new Date('2026-03-01T10:00:00.000Z');
    const THIRD_SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    const rotate = (signingSecret: string, graceSeconds: number, now = NOW) => ({ type: 'RotateSigningSecret', signingSecret, graceSeconds, now }) as const;

    it('should replace the secret, keep the old one signing until the grace period ends, and leave the rest alone', () => {
      const rotated = decideSettings(rotate(OTHER_SECRET, 86_400), given([initialized]));
      expect(rotated).toEqual([
        { type: SigningSecretRotated, data: { signingSecret: OTHER_SECRET, previousSigningSecret: { secret: SECRET, expiresAt: '2026-03-02T10:00:00.000Z' } } },
      ]);
      const after = settingsOf([initialized, ...rotated]);
      expect(after.signingSecret).toBe(OTHER_SECRET);
      expect(after.previousSigningSecret).toEqual({ secret: SECRET, expiresAt: '2026-03-02T10:00:00.000Z' });
      expect(withoutSecret(after)).toEqual(withoutSecret(settingsOf([initialized])));
    });

    it('should record no previous secret when graceSeconds is 0', () => {
      const rotated = decideSettings(rotate(OTHER_SECRET, 0), given([initialized]));
      expect(rotated).toEqual([{ type: SigningSecretRotated, data: { signingSecret: OTHER_SECRET } }]);
      expect(settingsOf([initialized, ...rotated])).toEqual({ ...settingsOf([initialized]), signingSecret: OTHER_SECRET });
    });

    it('should keep only the secret it replaces when it comes during another overlap (the older one stops at once)', () => {
      const first = decideSettings(rotate(OTHER_SECRET, 86_400), given([initialized]));
      const later = new Date(NOW.getTime() + 3_600_000);
      const second = decideSettings(rotate(THIRD_SECRET, 600, later), given([initialized, ...first]));
      expect(second).toEqual([
        { type: SigningSecretRotated, data: { signingSecret: THIRD_SECRET, previousSigningSecret: { secret: OTHER_SECRET, expiresAt: '2026-03-01T11:10:00.000Z' } } },
      ]);
      const after = settingsOf([initialized, ...first, ...second]);
      expect(after).toMatchObject({ signingSecret: THIRD_SECRET, previousSigningSecret: { secret: OTHER_SECRET } });
      expect(JSON.stringify(after)).not.toContain(SECRET);
    });

    it('should end an overlap under way when the next rotation has none', () => {
      const first = decideSettings(rotate(OTHER_SECRET, 86_400), given([initialized]));
      const second = decideSettings(rotate(THIRD_SECRET, 0), given([initialized, ...first]));
      expect(settingsOf([initialized, ...first, ...second])).toEqual({ ...settingsOf([initialized]), signingSecret: THIRD_SECRET });
    });

    it('should read a rotation recorded before overlaps existed as one with none', () => {
      const first = decideSettings(rotate(OTHER_SECRET, 86_400), given([initialized]));
      const legacy: SettingsEvent = { type: SigningSecretRotated, data: { signingSecret: THIRD_SECRET } };
      expect(settingsOf([initialized, ...first, legacy])).toEqual({ ...settingsOf([initialized]), signingSecret: THIRD_SECRET });
    });

    it('should keep the previous secret through a change of the other settings, and leave it out of the change', () => {
      const rotated = decideSettings(rotate(OTHER_SECRET, 86_400), given([initialized]));
      const changed = decideSettings({ type: 'ChangeSettings', changes: { snoozeDays: 5 } }, given([initialized, ...rotated]));
      expect(JSON.stringify(changed)).not.toContain(SECRET.slice(6));
      expect(settingsOf([initialized, ...rotated, ...changed]).previousSigningSecret).toEqual({ secret: SECRET, expiresAt: '2026-03-02T10:00:00.000Z' });
    });

    it.each([-1, 604_801, 1.5, Number.NaN])('should refuse graceSeconds %p naming it', (graceSeconds) => {
      expect(() => decideSettings(rotate(OTHER_SECRET, graceSeconds), given([initialized]))).toThrow(expect.objectContaining({ field: 'graceSeconds' }));
    });

    it('should take graceSeconds 604800 (7 days)', () => {
      const [event] = decideSettings(rotate(OTHER_SECRET, 604_800), given([initialized]));
      expect(event.type === SigningSecretRotated && event.data.previousSigningSecret?.expiresAt).toBe('2026-03-08T10:00:00.000Z');
    });
  });
});

describe(evolveSettings.name, () => {
  it('should fill in fields the stored settings predate from the defaults', () => {
    const { snoozeDays: _missing, ...older } = { ...DEFAULT_SETTINGS, signingSecret: SECRET };
    const state = given([{ type: SettingsInitialized, data: { settings: older as OrgSettingsWithSecret } }]);
    expect(state.settings!.snoozeDays).toBe(DEFAULT_SETTINGS.snoozeDays);
  });
});
