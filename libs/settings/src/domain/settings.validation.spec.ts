import { DEFAULT_SETTINGS, mergeSettings, PublicSettings, SettingsPatch } from './settings';
import { isValidHost, normalizeHost, outboundUrlProblem, settingsPatchProblems, settingsProblems } from './settings.validation';

const fieldsOf = (patch: SettingsPatch | Record<string, unknown>) =>
  settingsProblems(mergeSettings(DEFAULT_SETTINGS, patch as SettingsPatch), patch as SettingsPatch).map((p) => p.field);

describe(settingsProblems.name, () => {
  it('should find nothing wrong with the defaults', () => {
    expect(settingsProblems(DEFAULT_SETTINGS)).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a timezone that is not IANA', { timezone: 'Mars/Olympus' }, 'timezone'],
    ['an abbreviation Intl reads as another zone (BST: Asia/Dhaka)', { timezone: 'BST' }, 'timezone'],
    ['an empty list of days', { callingWindow: { days: [] } }, 'callingWindow.days'],
    ['an unknown day', { callingWindow: { days: ['mon', 'funday'] } }, 'callingWindow.days'],
    ['a repeated day', { callingWindow: { days: ['mon', 'mon'] } }, 'callingWindow.days'],
    ['a start that is not HH:MM', { callingWindow: { start: '8:00' } }, 'callingWindow.start'],
    ['an end past 24:00', { callingWindow: { end: '24:01' } }, 'callingWindow.end'],
    ['an end of 25:00', { callingWindow: { end: '25:00' } }, 'callingWindow.end'],
    ['a start of 24:00', { callingWindow: { start: '24:00' } }, 'callingWindow.start'],
    ['a start of 24:00 with an end of 24:00', { callingWindow: { start: '24:00', end: '24:00' } }, 'callingWindow.start'],
    ['an end before the start', { callingWindow: { start: '10:00', end: '09:00' } }, 'callingWindow.end'],
    ['an end equal to the start', { callingWindow: { start: '10:00', end: '10:00' } }, 'callingWindow.end'],
    ['a start after the stored end', { callingWindow: { start: '22:00' } }, 'callingWindow.start'],
    ['an end before the stored start', { callingWindow: { end: '07:00' } }, 'callingWindow.end'],
    ['snoozeDays 0', { snoozeDays: 0 }, 'snoozeDays'],
    ['snoozeDays 366', { snoozeDays: 366 }, 'snoozeDays'],
    ['a fractional snoozeDays', { snoozeDays: 1.5 }, 'snoozeDays'],
    ['expireAfterDays 0', { expireAfterDays: 0 }, 'expireAfterDays'],
    ['retryDelaySeconds 0', { retryDelaySeconds: 0 }, 'retryDelaySeconds'],
    ['retryDelaySeconds over a week', { retryDelaySeconds: 604_801 }, 'retryDelaySeconds'],
    ['attemptTimeoutSeconds over a day', { attemptTimeoutSeconds: 86_401 }, 'attemptTimeoutSeconds'],
    ['a string for a number', { snoozeDays: '3' }, 'snoozeDays'],
    ['enabled not a boolean', { autoAssignment: { enabled: 'yes' } }, 'autoAssignment.enabled'],
    ['a spoken-to status to recycle', { autoAssignment: { statuses: ['Interested'] } }, 'autoAssignment.statuses'],
    ['a repeated status', { autoAssignment: { statuses: ['Missed', 'Missed'] } }, 'autoAssignment.statuses'],
    ['a negative delay', { autoAssignment: { delaySeconds: -1 } }, 'autoAssignment.delaySeconds'],
    ['a delay over 30 days', { autoAssignment: { delaySeconds: 2_592_001 } }, 'autoAssignment.delaySeconds'],
    ['an unknown strategy', { autoAssignment: { strategy: 'random' } }, 'autoAssignment.strategy'],
    ['an unknown scope', { autoAssignment: { scope: 'team' } }, 'autoAssignment.scope'],
    ['too many reassignments', { autoAssignment: { maxReassignments: 101 } }, 'autoAssignment.maxReassignments'],
    ['a relative dialler url', { dialler: { url: '/dial' } }, 'dialler.url'],
    ['an ftp sms url', { sms: { url: 'ftp://sms.example.com/send' } }, 'sms.url'],
    ['plain http to a host not allowed', { dialler: { url: 'http://dialler.example.com/dial' } }, 'dialler.url'],
    ['https to a private IP', { dialler: { url: 'https://10.1.2.3/dial' } }, 'dialler.url'],
    ['https to loopback IPv6', { sms: { url: 'https://[::1]/send' } }, 'sms.url'],
    ['https to localhost', { sms: { url: 'https://localhost/send' } }, 'sms.url'],
    ['https to the metadata address in decimal', { sms: { url: 'https://2852039166/latest' } }, 'sms.url'],
    ['a host with a scheme', { webhooks: { allowHttpHosts: ['http://x.example.com'] } }, 'webhooks.allowHttpHosts'],
    ['a host with a port', { webhooks: { allowHttpHosts: ['x.example.com:8080'] } }, 'webhooks.allowHttpHosts'],
    ['51 hosts', { webhooks: { allowHttpHosts: Array.from({ length: 51 }, (_, i) => `h${i}.example.com`) } }, 'webhooks.allowHttpHosts'],
  ])('should name the field for %s', (_what, patch, field) => {
    expect(fieldsOf(patch)).toEqual([field]);
  });

  it('should leave alone a stored zone an earlier version took (an abbreviation) when the change is to another field', () => {
    const stored: PublicSettings = { ...DEFAULT_SETTINGS, timezone: 'IST' };
    expect(settingsProblems(mergeSettings(stored, { snoozeDays: 2 }), { snoozeDays: 2 })).toEqual([]);
    expect(settingsProblems(mergeSettings(stored, { timezone: 'IST' }), { timezone: 'IST' }).map((p) => p.field)).toEqual(['timezone']);
    expect(settingsProblems(mergeSettings(stored, { timezone: 'Asia/Kolkata' }), { timezone: 'Asia/Kolkata' })).toEqual([]);
  });

  it('should accept an end of 24:00, the end of the day, after any start', () => {
    expect(fieldsOf({ callingWindow: { end: '24:00' } })).toEqual([]);
    expect(fieldsOf({ callingWindow: { start: '00:00', end: '24:00' } })).toEqual([]);
    expect(fieldsOf({ callingWindow: { start: '23:59', end: '24:00' } })).toEqual([]);
    // a start sent alone, with a stored end of 24:00
    expect(settingsProblems(mergeSettings(mergeSettings(DEFAULT_SETTINGS, { callingWindow: { end: '24:00' } }), { callingWindow: { start: '22:00' } }))).toEqual([]);
  });

  it('should say what each time accepts when it is not one', () => {
    const messages = settingsProblems(mergeSettings(DEFAULT_SETTINGS, { callingWindow: { start: '24:00', end: '24:01' } })).map((p) => p.message);
    expect(messages).toEqual(['callingWindow.start must be HH:MM (24 h), from 00:00 to 23:59', 'callingWindow.end must be HH:MM (24 h), up to 24:00 (the end of the day)']);
  });

  it('should accept http and private addresses to hosts in allowHttpHosts (after the merge)', () => {
    expect(fieldsOf({ dialler: { url: 'http://10.1.2.3:8080/dial' }, webhooks: { allowHttpHosts: ['10.1.2.3'] } })).toEqual([]);
    expect(fieldsOf({ sms: { url: 'http://sms.internal/send' }, webhooks: { allowHttpHosts: ['SMS.internal'] } })).toEqual([]);
    expect(fieldsOf({ sms: { url: 'http://[::1]:9000/send' }, webhooks: { allowHttpHosts: ['::1'] } })).toEqual([]);
  });

  it('should refuse to drop a host from allowHttpHosts that a stored url still needs', () => {
    const current: PublicSettings = mergeSettings(DEFAULT_SETTINGS, { dialler: { url: 'http://10.1.2.3/dial' }, webhooks: { allowHttpHosts: ['10.1.2.3'] } });
    expect(settingsProblems(current)).toEqual([]);
    expect(settingsProblems(mergeSettings(current, { webhooks: { allowHttpHosts: [] } })).map((p) => p.field)).toEqual(['dialler.url']);
  });

  it('should start every message with the path of its field', () => {
    const problems = settingsProblems(mergeSettings(DEFAULT_SETTINGS, { snoozeDays: 0, callingWindow: { end: '07:00' } }));
    expect(problems.map((p) => p.field)).toEqual(['callingWindow.end', 'snoozeDays']);
    for (const p of problems) expect(p.message.startsWith(`${p.field} `)).toBe(true);
  });
});

describe(settingsPatchProblems.name, () => {
  it('should find what is wrong whatever the stored settings are, and say it as settingsProblems does', () => {
    const patch = { callingWindow: { start: '18:00', end: '09:00' }, dialler: { url: 'ftp://x' }, sms: { url: 'http://sms.example.com/send' } };
    expect(settingsPatchProblems(patch)).toEqual([
      { field: 'callingWindow.end', message: 'callingWindow.end must be after callingWindow.start (18:00)' },
      { field: 'dialler.url', message: 'dialler.url must be an absolute http(s) URL' },
    ]);
    expect(settingsPatchProblems(patch)).toEqual(settingsProblems(mergeSettings(DEFAULT_SETTINGS, patch as SettingsPatch), patch as SettingsPatch).filter((p) => p.field !== 'sms.url'));
  });

  it('should leave to the decider what reads the stored settings: a bound sent alone, plain http when the patch gives no hosts', () => {
    expect(settingsPatchProblems({ callingWindow: { start: '22:00' }, sms: { url: 'http://sms.internal/send' } })).toEqual([]);
    expect(settingsPatchProblems({ sms: { url: 'http://sms.internal/send' }, webhooks: { allowHttpHosts: ['dialler.internal'] } }).map((p) => p.field)).toEqual(['sms.url']);
    expect(settingsPatchProblems({ sms: { url: 'http://sms.internal/send' }, webhooks: { allowHttpHosts: ['sms.internal'] } })).toEqual([]);
  });

  it('should skip fields of the wrong type (the DTO names them)', () => {
    expect(settingsPatchProblems({ callingWindow: 'always', dialler: { url: 42 }, sms: null, webhooks: { allowHttpHosts: 'x' } })).toEqual([]);
  });
});

describe(outboundUrlProblem.name, () => {
  it('should accept https to a public name and say why it refuses the rest', () => {
    expect(outboundUrlProblem('https://hooks.example.com/x?y=1', [])).toBeNull();
    expect(outboundUrlProblem('not a url', [])).toMatch(/absolute http\(s\) URL/);
    expect(outboundUrlProblem('http://hooks.example.com/x', [])).toMatch(/https/);
    expect(outboundUrlProblem('https://127.0.0.1/x', [])).toMatch(/private or loopback/);
    expect(outboundUrlProblem('https://[::ffff:127.0.0.1]/x', [])).toMatch(/private or loopback/);
    expect(outboundUrlProblem('http://127.0.0.1:8080/x', ['127.0.0.1'])).toBeNull();
  });
});

describe(isValidHost.name, () => {
  it.each(['example.com', 'dialler', 'my_service', 'a-b.c-d.example', '10.0.0.1', '::1', '[fe80::1]', 'EXAMPLE.com.'])('should accept %s', (h) => {
    expect(isValidHost(h)).toBe(true);
  });
  it.each(['', 'http://x', 'x:80', 'x/y', '-x.com', 'x-.com', 'a..b', '999.1.1.1', '1.2.3', 'a b', 'x'.repeat(64)])('should refuse %p', (h) => {
    expect(isValidHost(h)).toBe(false);
  });
  it('should normalise case, brackets, a trailing dot and the IPv6 form', () => {
    expect(normalizeHost('[0:0::1]')).toBe('::1');
    expect(normalizeHost('Example.COM.')).toBe('example.com');
  });
});
