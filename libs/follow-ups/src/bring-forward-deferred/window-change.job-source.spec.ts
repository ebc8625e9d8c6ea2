import { Clock } from '@app/shared';
import { EventStore, StoredEvent } from '@app/event-store';
import { DEFAULT_SETTINGS, PublicSettings, SettingsChanged, SettingsInitialized, SettingsPatch } from '@app/settings';
import { BRING_FORWARD_DELAY_MS, windowChange, WindowChangeJobSource } from './window-change.job-source';

const settings = (over: Partial<PublicSettings> = {}): PublicSettings => ({ ...DEFAULT_SETTINGS, timezone: 'Europe/Paris', ...over });
const NIGHTS = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const, start: '00:00', end: '23:59' };

describe(windowChange.name, () => {
  it('should say the window moved when its hours, days or end change', () => {
    expect(windowChange(settings(), settings({ callingWindow: { ...DEFAULT_SETTINGS.callingWindow, start: '07:00' } }))).toBe('window');
    expect(windowChange(settings(), settings({ callingWindow: { ...DEFAULT_SETTINGS.callingWindow, days: ['mon'] } }))).toBe('window');
    expect(windowChange(settings(), settings({ callingWindow: { ...NIGHTS, days: [...NIGHTS.days] }, timezone: 'Asia/Tokyo' }))).toBe('window');
  });

  it('should say only the timezone moved when the window stayed', () => {
    expect(windowChange(settings(), settings({ timezone: 'Asia/Tokyo' }))).toBe('timezone');
  });

  it('should say nothing moved for a change of anything else, or a window set as it was', () => {
    expect(windowChange(settings(), settings({ retryDelaySeconds: 60, sms: { url: 'https://sms.example' } }))).toBeNull();
    expect(windowChange(settings(), settings({ callingWindow: { days: [...DEFAULT_SETTINGS.callingWindow.days], start: '08:00', end: '21:00' } }))).toBeNull();
  });
});

describe(WindowChangeJobSource.name, () => {
  const orgId = '7d1f8a52-44f8-4c43-8f2e-1c0b1b7f2a10';
  const at = '2026-03-02T20:00:00.000Z';
  /** When the job outbox reaches the change: later than it was made, when the outbox is behind. */
  const enqueuedAt = '2026-03-02T20:00:09.000Z';
  const stored = (version: number, type: string, data: Record<string, unknown>): StoredEvent => ({
    globalPosition: String(version),
    transactionId: '1',
    streamId: `settings-${orgId}`,
    streamVersion: version,
    orgId,
    type,
    data,
    metadata: { orgId, occurredAt: at } as StoredEvent['metadata'],
    idempotencyKey: null,
  });
  const initialized = stored(1, SettingsInitialized, { settings: { ...settings(), signingSecret: 'whsec_x' } });
  const changed = (version: number, changes: SettingsPatch, after: PublicSettings) => stored(version, SettingsChanged, { changes, settings: after });
  const sourceOver = (stream: StoredEvent[]) => {
    const reads: string[] = [];
    const store = { readStream: async (_org: string, id: string) => (reads.push(id), stream) } as unknown as EventStore;
    const clock = { now: () => new Date(enqueuedAt) } as Clock;
    return { source: new WindowChangeJobSource(store, clock), reads };
  };

  it('should make one sweep, named by the change, a moment after the outbox reaches a window change', async () => {
    const widened = settings({ callingWindow: { ...DEFAULT_SETTINGS.callingWindow, end: '22:00' } });
    const e = changed(2, { callingWindow: { end: '22:00' } }, widened);
    const { source } = sourceOver([initialized, e]);
    expect(await source.jobsFor([e])).toEqual([
      {
        name: 'follow-ups.bring-forward',
        queue: 'maintenance',
        payload: { orgId, settingsVersion: 2, timezoneOnly: false },
        jobId: `fu-forward.${orgId}.2`,
        runAt: Date.parse(enqueuedAt) + BRING_FORWARD_DELAY_MS,
      },
    ]);
  });

  it('should sweep only contacts that take the org\'s timezone when only the timezone changed', async () => {
    const e = changed(2, { timezone: 'Asia/Tokyo' }, settings({ timezone: 'Asia/Tokyo' }));
    const { source } = sourceOver([initialized, e]);
    expect((await source.jobsFor([e])).map((j) => j.payload)).toEqual([{ orgId, settingsVersion: 2, timezoneOnly: true }]);
  });

  it('should make none, and read nothing, for a change that does not name the window or the timezone', async () => {
    const e = changed(2, { retryDelaySeconds: 60 }, settings({ retryDelaySeconds: 60 }));
    const { source, reads } = sourceOver([initialized, e]);
    expect(await source.jobsFor([e])).toEqual([]);
    expect(reads).toEqual([]);
  });

  it('should make none for a change that names the window as it was', async () => {
    const e = changed(2, { callingWindow: { start: '08:00' }, retryDelaySeconds: 60 }, settings({ retryDelaySeconds: 60 }));
    const { source } = sourceOver([initialized, e]);
    expect(await source.jobsFor([e])).toEqual([]);
  });

  it('should compare each change with the settings just before it when a round holds several', async () => {
    const first = changed(2, { timezone: 'Asia/Tokyo' }, settings({ timezone: 'Asia/Tokyo' }));
    const back = changed(3, { timezone: 'Asia/Tokyo' }, settings({ timezone: 'Asia/Tokyo' }));
    const window = changed(4, { callingWindow: { start: '09:00' } }, settings({ timezone: 'Asia/Tokyo', callingWindow: { ...DEFAULT_SETTINGS.callingWindow, start: '09:00' } }));
    const { source, reads } = sourceOver([initialized, first, back, window]);
    expect((await source.jobsFor([first, back, window])).map((j) => j.jobId)).toEqual([`fu-forward.${orgId}.2`, `fu-forward.${orgId}.4`]);
    expect(reads).toHaveLength(1);
  });
});
