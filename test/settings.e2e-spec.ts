import { expectError, fieldsNamed, installNo5xxGuard, recordingClient, startTestApp, TestApp } from '@app/testing';

const SPEC_DEFAULTS = {
  timezone: 'UTC',
  callingWindow: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '08:00', end: '21:00' },
  snoozeDays: 3,
  expireAfterDays: 7,
  retryDelaySeconds: 900,
  attemptTimeoutSeconds: 3600,
  autoAssignment: { enabled: false, statuses: ['Not Picked', 'Missed'], delaySeconds: 0, strategy: 'round_robin', scope: 'org', maxReassignments: 3 },
  dialler: { url: null },
  sms: { url: null },
  webhooks: { allowHttpHosts: [] },
};
const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/;

describe('settings (SPEC §7)', () => {
  let t: TestApp;
  /** Every response of the current test, to prove none was a 500 (SPEC §9). */
  const client = recordingClient(() => t);
  installNo5xxGuard(client);

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  const get = (key: string) => client.get('/api/settings', key);
  const patch = (key: string, body: unknown) => client.patch('/api/settings', key, body);
  const rotate = (key: string, body?: unknown) => client.post('/api/settings/signing-secret/rotate', key, body);

  const setup = async (timezone = 'UTC') => {
    const org = await t.createOrg('Org', timezone);
    const admin = { id: org.adminUserId, apiKey: org.adminKey };
    const supervisor = await t.createUser(org.adminKey, { name: 'Sue', role: 'supervisor' });
    const agent = await t.createUser(org.adminKey, { name: 'Ana', role: 'agent' });
    const integration = await t.createUser(org.adminKey, { name: 'Dialler', role: 'integration' });
    return { org, admin, supervisor, agent, integration };
  };

  const eventTypes = async (orgId: string): Promise<string[]> =>
    (await t.db.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_version', [`settings-${orgId}`])).rows.map((r) => r.type);

  describe('GET /api/settings', () => {
    it('should answer the SPEC defaults with a Standard Webhooks secret on the first read', async () => {
      const { admin, org } = await setup();
      const res = await get(admin.apiKey);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ...SPEC_DEFAULTS, signingSecret: expect.stringMatching(SECRET) });
      expect(await eventTypes(org.orgId)).toEqual(['SettingsInitialized']);
    });

    it("should start from the organization's timezone", async () => {
      const { admin } = await setup('Europe/Madrid');
      expect((await get(admin.apiKey)).body.timezone).toBe('Europe/Madrid');
    });

    it('should show the secret to the admin only, the same on every read', async () => {
      const { admin, supervisor, agent, integration } = await setup();
      const first = await get(admin.apiKey);
      expect((await get(admin.apiKey)).body.signingSecret).toBe(first.body.signingSecret);
      for (const key of [supervisor.apiKey, agent.apiKey, integration.apiKey]) {
        const res = await get(key);
        expect(res.status).toBe(200);
        expect(res.body).toEqual(SPEC_DEFAULTS);
        expect(JSON.stringify(res.body)).not.toContain(first.body.signingSecret);
      }
    });

    it("should show the dialler's and the SMS provider's query strings (where their tokens go) to the admin only", async () => {
      const { admin, supervisor, agent, integration } = await setup();
      const urls = { dialler: { url: 'https://dialler.example.com/v1/dial?token=s3cret-dial' }, sms: { url: 'https://sms.example.com/send?api_key=s3cret-sms#x' } };
      expect((await patch(admin.apiKey, urls)).status).toBe(200);
      expect((await get(admin.apiKey)).body).toMatchObject(urls);
      for (const key of [supervisor.apiKey, agent.apiKey, integration.apiKey]) {
        const res = await get(key);
        expect(res.body).toMatchObject({ dialler: { url: 'https://dialler.example.com/v1/dial?[redacted]' }, sms: { url: 'https://sms.example.com/send?[redacted]' } });
        expect(JSON.stringify(res.body)).not.toMatch(/s3cret/);
      }
    });

    it('should create the settings once when many first reads race', async () => {
      const { admin, org } = await setup();
      const reads = await Promise.all(Array.from({ length: 8 }, () => get(admin.apiKey)));
      expect(reads.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(new Set(reads.map((r) => r.body.signingSecret)).size).toBe(1);
      expect(await eventTypes(org.orgId)).toEqual(['SettingsInitialized']);
    });

    it('should answer 401 without a key', async () => {
      expectError(await t.http().get('/api/settings'), 401);
    });
  });

  describe('PATCH /api/settings', () => {
    it('should merge the given fields one level deep, persist them and leave another organization alone', async () => {
      const a = await setup();
      const b = await setup();
      const before = await get(a.admin.apiKey);
      const res = await patch(a.admin.apiKey, {
        timezone: 'America/New_York',
        callingWindow: { start: '09:30' },
        snoozeDays: 5,
        retryDelaySeconds: 2,
        autoAssignment: { enabled: true, strategy: 'least_loaded' },
        webhooks: { allowHttpHosts: ['dialler.internal'] },
        dialler: { url: 'http://dialler.internal:8080/dial' },
        sms: { url: 'https://sms.example.com/send' },
      });
      expect(res.status).toBe(200);
      const expected = {
        ...SPEC_DEFAULTS,
        timezone: 'America/New_York',
        callingWindow: { ...SPEC_DEFAULTS.callingWindow, start: '09:30' },
        snoozeDays: 5,
        retryDelaySeconds: 2,
        autoAssignment: { ...SPEC_DEFAULTS.autoAssignment, enabled: true, strategy: 'least_loaded' },
        webhooks: { allowHttpHosts: ['dialler.internal'] },
        dialler: { url: 'http://dialler.internal:8080/dial' },
        sms: { url: 'https://sms.example.com/send' },
        signingSecret: before.body.signingSecret,
      };
      expect(res.body).toEqual(expected);
      expect((await get(a.admin.apiKey)).body).toEqual(expected);

      const second = await patch(a.admin.apiKey, { callingWindow: { days: ['sat', 'mon'] }, autoAssignment: { maxReassignments: 0 } });
      expect(second.status).toBe(200);
      expect(second.body.callingWindow).toEqual({ days: ['mon', 'sat'], start: '09:30', end: '21:00' });
      expect(second.body.autoAssignment).toEqual({ ...expected.autoAssignment, maxReassignments: 0 });

      expect((await get(b.admin.apiKey)).body).toEqual({ ...SPEC_DEFAULTS, signingSecret: expect.stringMatching(SECRET) });
      expect((await get(b.admin.apiKey)).body.signingSecret).not.toBe(before.body.signingSecret);
    });

    it('should record each change as an event with the patch and the result, never the secret', async () => {
      const { admin, org } = await setup();
      const { body: initial } = await get(admin.apiKey);
      expect((await patch(admin.apiKey, { expireAfterDays: 14 })).status).toBe(200);
      expect((await patch(admin.apiKey, { expireAfterDays: 14 })).status).toBe(200); // no change: no event
      expect(await eventTypes(org.orgId)).toEqual(['SettingsInitialized', 'SettingsChanged']);
      const { rows } = await t.db.query(`SELECT data, metadata FROM events WHERE stream_id = $1 AND type = 'SettingsChanged'`, [`settings-${org.orgId}`]);
      expect(rows[0].data.changes).toEqual({ expireAfterDays: 14 });
      expect(rows[0].data.settings.expireAfterDays).toBe(14);
      expect(rows[0].metadata.actorId).toBe(admin.id);
      expect(JSON.stringify(rows[0].data)).not.toContain(initial.signingSecret);
    });

    it('should let the first write create the settings', async () => {
      const { admin, org } = await setup('Asia/Tokyo');
      const res = await patch(admin.apiKey, { snoozeDays: 2 });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ timezone: 'Asia/Tokyo', snoozeDays: 2, signingSecret: expect.stringMatching(SECRET) });
      expect(await eventTypes(org.orgId)).toEqual(['SettingsInitialized', 'SettingsChanged']);
    });

    it('should answer 403 to a supervisor, an agent and an integration, and change nothing', async () => {
      const { admin, supervisor, agent, integration, org } = await setup();
      await get(admin.apiKey);
      for (const key of [supervisor.apiKey, agent.apiKey, integration.apiKey]) expectError(await patch(key, { snoozeDays: 9 }), 403);
      expect((await get(admin.apiKey)).body.snoozeDays).toBe(3);
      expect(await eventTypes(org.orgId)).toEqual(['SettingsInitialized']);
    });

    it.each<[string, Record<string, unknown>, string[]]>([
      ['a timezone that is not IANA', { timezone: 'Mars/Olympus' }, ['timezone']],
      ['an abbreviation Intl reads as another zone (IST: Asia/Kolkata)', { timezone: 'IST' }, ['timezone']],
      ['an empty list of days', { callingWindow: { days: [] } }, ['callingWindow.days']],
      ['an unknown day', { callingWindow: { days: ['mon', 'someday'] } }, ['callingWindow.days']],
      ['a repeated day', { callingWindow: { days: ['mon', 'tue', 'mon'] } }, ['callingWindow.days']],
      ['a start that is not HH:MM', { callingWindow: { start: '9am' } }, ['callingWindow.start']],
      ['an end past 24:00', { callingWindow: { end: '24:01' } }, ['callingWindow.end']],
      ['an end of 25:00', { callingWindow: { end: '25:00' } }, ['callingWindow.end']],
      ['a start of 24:00', { callingWindow: { start: '24:00' } }, ['callingWindow.start']],
      ['a start of 24:00 with an end of 24:00', { callingWindow: { start: '24:00', end: '24:00' } }, ['callingWindow.start']],
      ['an end before the start', { callingWindow: { start: '18:00', end: '09:00' } }, ['callingWindow.end']],
      ['a start alone after the stored end', { callingWindow: { start: '22:00' } }, ['callingWindow.start']],
      ['a start alone equal to the stored end', { callingWindow: { start: '21:00' } }, ['callingWindow.start']],
      ['an end alone before the stored start', { callingWindow: { end: '07:00' } }, ['callingWindow.end']],
      ['snoozeDays 0', { snoozeDays: 0 }, ['snoozeDays']],
      ['snoozeDays 366', { snoozeDays: 366 }, ['snoozeDays']],
      ['snoozeDays as a string', { snoozeDays: '3' }, ['snoozeDays']],
      ['snoozeDays null', { snoozeDays: null }, ['snoozeDays']],
      ['expireAfterDays 0', { expireAfterDays: 0 }, ['expireAfterDays']],
      ['expireAfterDays 366', { expireAfterDays: 366 }, ['expireAfterDays']],
      ['retryDelaySeconds 0', { retryDelaySeconds: 0 }, ['retryDelaySeconds']],
      ['retryDelaySeconds 604801', { retryDelaySeconds: 604_801 }, ['retryDelaySeconds']],
      ['attemptTimeoutSeconds 0', { attemptTimeoutSeconds: 0 }, ['attemptTimeoutSeconds']],
      ['attemptTimeoutSeconds 86401', { attemptTimeoutSeconds: 86_401 }, ['attemptTimeoutSeconds']],
      ['enabled not a boolean', { autoAssignment: { enabled: 'yes' } }, ['autoAssignment.enabled']],
      ['a spoken-to status to recycle', { autoAssignment: { statuses: ['Interested'] } }, ['autoAssignment.statuses']],
      ['a negative delay', { autoAssignment: { delaySeconds: -1 } }, ['autoAssignment.delaySeconds']],
      ['a delay over 30 days', { autoAssignment: { delaySeconds: 2_592_001 } }, ['autoAssignment.delaySeconds']],
      ['an unknown strategy', { autoAssignment: { strategy: 'random' } }, ['autoAssignment.strategy']],
      ['an unknown scope', { autoAssignment: { scope: 'team' } }, ['autoAssignment.scope']],
      ['maxReassignments 101', { autoAssignment: { maxReassignments: 101 } }, ['autoAssignment.maxReassignments']],
      ['a dialler url that is not a URL', { dialler: { url: 'dialler' } }, ['dialler.url']],
      ['an sms url that is not http(s)', { sms: { url: 'ftp://sms.example.com/' } }, ['sms.url']],
      ['a plain http dialler url', { dialler: { url: 'http://dialler.example.com/dial' } }, ['dialler.url']],
      ['an https url at a private address', { dialler: { url: 'https://192.168.1.20/dial' } }, ['dialler.url']],
      ['an https url at loopback', { sms: { url: 'https://127.0.0.1:8443/send' } }, ['sms.url']],
      ['an https url at the link-local metadata address', { sms: { url: 'https://169.254.169.254/latest' } }, ['sms.url']],
      ['a url as a number', { sms: { url: 42 } }, ['sms.url']],
      ['a host with a scheme', { webhooks: { allowHttpHosts: ['http://dialler.internal'] } }, ['webhooks.allowHttpHosts']],
      ['51 hosts', { webhooks: { allowHttpHosts: Array.from({ length: 51 }, (_, i) => `h${i}.internal`) } }, ['webhooks.allowHttpHosts']],
      ['allowHttpHosts not an array', { webhooks: { allowHttpHosts: 'dialler.internal' } }, ['webhooks.allowHttpHosts']],
      ['a section that is not an object', { callingWindow: 'always' }, ['callingWindow']],
      ['the signing secret', { signingSecret: 'whsec_AAAA' }, ['signingSecret']],
      ['an unknown field', { quietHours: true }, ['quietHours']],
      ['an unknown nested field', { callingWindow: { lunch: '12:00' } }, ['callingWindow.lunch']],
      ['several bad fields at once', { snoozeDays: 0, autoAssignment: { scope: 'x' } }, ['autoAssignment.scope', 'snoozeDays']],
      // one 400 naming every bad field, whichever check finds it (SPEC §9)
      ['a url the domain refuses beside a field the DTO refuses', { dialler: { url: 'ftp://x' }, snoozeDays: 0 }, ['dialler.url', 'snoozeDays']],
      ['an abbreviation for a zone beside a field the DTO refuses', { timezone: 'BST', snoozeDays: 0 }, ['snoozeDays', 'timezone']],
      [
        'a window given whole that ends before it starts, and a url over plain http to none of the hosts the patch allows, beside a field the DTO refuses',
        { callingWindow: { start: '18:00', end: '09:00' }, autoAssignment: { scope: 'team' }, sms: { url: 'http://sms.example.com/send' }, webhooks: { allowHttpHosts: ['dialler.internal'] } },
        ['autoAssignment.scope', 'callingWindow.end', 'sms.url'],
      ],
    ])('should answer 400 naming the field for %s, and change nothing', async (_what, body, fields) => {
      const { admin, org } = await setup();
      const before = (await get(admin.apiKey)).body;
      const res = await patch(admin.apiKey, body);
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(fields);
      expect((await get(admin.apiKey)).body).toEqual(before);
      expect(await eventTypes(org.orgId)).toEqual(['SettingsInitialized']);
    });

    it('should accept an end of 24:00 (calling up to midnight), keep it, and check a later start against it', async () => {
      const { admin, org } = await setup();
      const res = await patch(admin.apiKey, { callingWindow: { end: '24:00' } });
      expect(res.status).toBe(200);
      expect(res.body.callingWindow).toEqual({ ...SPEC_DEFAULTS.callingWindow, end: '24:00' });
      expect((await get(admin.apiKey)).body.callingWindow).toEqual({ ...SPEC_DEFAULTS.callingWindow, end: '24:00' });

      const allDay = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' };
      expect((await patch(admin.apiKey, { callingWindow: allDay })).body.callingWindow).toEqual(allDay);
      expect((await patch(admin.apiKey, { callingWindow: { start: '23:59' } })).body.callingWindow).toEqual({ ...allDay, start: '23:59' });
      const startAtMidnight = await patch(admin.apiKey, { callingWindow: { start: '24:00' } });
      expectError(startAtMidnight, 400);
      expect(fieldsNamed(startAtMidnight)).toEqual(['callingWindow.start']);
      expect((await get(admin.apiKey)).body.callingWindow).toEqual({ ...allDay, start: '23:59' });
      expect(await eventTypes(org.orgId)).toEqual(['SettingsInitialized', 'SettingsChanged', 'SettingsChanged', 'SettingsChanged']);
    });

    it('should allow plain http and a private address to a host in allowHttpHosts, given in the same patch or before', async () => {
      const { admin } = await setup();
      const same = await patch(admin.apiKey, { dialler: { url: 'http://10.0.0.5:8080/dial' }, webhooks: { allowHttpHosts: ['10.0.0.5', 'sms.internal'] } });
      expect(same.status).toBe(200);
      const later = await patch(admin.apiKey, { sms: { url: 'http://SMS.internal/send' } });
      expect(later.status).toBe(200);
      expect(later.body).toMatchObject({ dialler: { url: 'http://10.0.0.5:8080/dial' }, sms: { url: 'http://SMS.internal/send' } });
    });

    it('should refuse to drop a host from allowHttpHosts while an endpoint still needs it', async () => {
      const { admin } = await setup();
      expect((await patch(admin.apiKey, { dialler: { url: 'http://10.0.0.5/dial' }, webhooks: { allowHttpHosts: ['10.0.0.5'] } })).status).toBe(200);
      const res = await patch(admin.apiKey, { webhooks: { allowHttpHosts: [] } });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['dialler.url']);
      expect((await patch(admin.apiKey, { dialler: { url: null }, webhooks: { allowHttpHosts: [] } })).status).toBe(200);
    });
  });

  describe("users' timezone (SPEC §2: default, the org's)", () => {
    it("should count today in the org's new timezone on the very next request of a user who follows it", async () => {
      // Regression: the user's authenticated identity, cached for AUTH_CACHE_MS, kept the old zone for about a second.
      const { admin } = await setup('Asia/Tokyo');
      const report = async () => (await client.get('/api/reports/follow-ups', admin.apiKey)).body as { timezone: string };
      expect((await report()).timezone).toBe('Asia/Tokyo'); // the admin's identity is now cached
      expect((await patch(admin.apiKey, { timezone: 'Europe/London' })).status).toBe(200);
      expect((await report()).timezone).toBe('Europe/London');
    });

    /** Whole local calendar days from `due` to `now` in `zone` (the hub's overdueDays), the oracle for what the hub answers. */
    const daysLate = (due: Date, now: Date, zone: string) => {
      const day = (d: Date) => Date.parse(new Date(d).toLocaleDateString('en-CA', { timeZone: zone }) + 'T00:00:00Z') / 86_400_000;
      return Math.max(0, day(now) - day(due));
    };

    it('should keep a user created without a timezone on the org’s, following its changes, until one of their own is set', async () => {
      const { org, admin, agent } = await setup('UTC');
      const pinned = await t.createUser(org.adminKey, { name: 'Tomo', role: 'agent', timezone: 'Asia/Tokyo' });
      const user = async (id: string) => (await client.get(`/api/users/${id}`, admin.apiKey)).body as { timezone: string; timezoneFromOrg: boolean };
      expect(await user(agent.id)).toMatchObject({ timezone: 'UTC', timezoneFromOrg: true });
      expect(await user(org.adminUserId)).toMatchObject({ timezone: 'UTC', timezoneFromOrg: true });

      expect((await patch(admin.apiKey, { timezone: 'Pacific/Kiritimati' })).status).toBe(200);
      expect(await user(agent.id)).toMatchObject({ timezone: 'Pacific/Kiritimati', timezoneFromOrg: true });
      expect(await user(org.adminUserId)).toMatchObject({ timezone: 'Pacific/Kiritimati', timezoneFromOrg: true });
      expect(await user(pinned.id)).toMatchObject({ timezone: 'Asia/Tokyo', timezoneFromOrg: false });

      // What the agent sees: the hub counts days in Kiritimati (UTC+14), not in the UTC the org had when they were made.
      // A follow-up due just before a local midnight of one zone and not the other is overdue by a different count.
      const now = new Date();
      const dayStart = (zone: string) => {
        for (let t0 = now.getTime(); ; t0 -= 60_000) if (daysLate(new Date(t0 - 60_000), now, zone) > 0) return t0; // the first minute of today
      };
      const dueAt = [dayStart('Pacific/Kiritimati') - 60_000, dayStart('UTC') - 60_000]
        .map((ms) => new Date(ms))
        .find((d) => daysLate(d, now, 'Pacific/Kiritimati') !== daysLate(d, now, 'UTC'))!;
      const contact = await client.post('/api/contacts', admin.apiKey, { name: 'Kai', phone: '+14155550123', assignedAgentId: agent.id });
      expect((await client.post(`/api/contacts/${contact.body.id}/follow-ups`, admin.apiKey, { scheduledAt: dueAt.toISOString() })).status).toBe(201);
      const hub = await client.get('/api/follow-ups/due', agent.apiKey);
      expect(hub.body.followUps).toHaveLength(1);
      expect(hub.body.followUps[0].overdueDays).toBe(daysLate(dueAt, new Date(), 'Pacific/Kiritimati'));

      // null: back to the org's
      expect((await client.patch(`/api/users/${pinned.id}`, admin.apiKey, { timezone: null })).body).toMatchObject({ timezone: 'Pacific/Kiritimati', timezoneFromOrg: true });
      expect((await client.patch(`/api/users/${agent.id}`, admin.apiKey, { timezone: 'Europe/Paris' })).body).toMatchObject({ timezone: 'Europe/Paris', timezoneFromOrg: false });
    });
  });

  describe('POST /api/settings/signing-secret/rotate', () => {
    const HOUR = 3_600_000;

    it('should replace the secret, keep the rest, answer when the old one stops signing (a day by default), and record it as an event', async () => {
      const { admin, org } = await setup();
      const before = (await patch(admin.apiKey, { snoozeDays: 4 })).body;
      const sent = Date.now();
      const res = await rotate(admin.apiKey);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ...before, signingSecret: expect.stringMatching(SECRET), previousSigningSecretExpiresAt: expect.any(String) });
      expect(res.body.signingSecret).not.toBe(before.signingSecret);
      const expiresAt = Date.parse(res.body.previousSigningSecretExpiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(sent + 24 * HOUR - 1000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 24 * HOUR + 1000);
      expect((await get(admin.apiKey)).body.signingSecret).toBe(res.body.signingSecret);
      expect(await eventTypes(org.orgId)).toEqual(['SettingsInitialized', 'SettingsChanged', 'SigningSecretRotated']);
    });

    it('should take graceSeconds, and answer null for the end when it is 0', async () => {
      const { admin } = await setup();
      const sent = Date.now();
      const week = await rotate(admin.apiKey, { graceSeconds: 604_800 });
      expect(week.status).toBe(200);
      expect(Date.parse(week.body.previousSigningSecretExpiresAt)).toBeGreaterThanOrEqual(sent + 168 * HOUR - 1000);
      expect(Date.parse(week.body.previousSigningSecretExpiresAt)).toBeLessThanOrEqual(Date.now() + 168 * HOUR + 1000);
      const none = await rotate(admin.apiKey, { graceSeconds: 0 });
      expect(none.status).toBe(200);
      expect(none.body.previousSigningSecretExpiresAt).toBeNull();
      expect(none.body.signingSecret).not.toBe(week.body.signingSecret);
    });

    it('should show the replaced secret to nobody, admins included, in any answer about the settings', async () => {
      const { admin, supervisor, agent, integration } = await setup();
      const old = (await get(admin.apiKey)).body.signingSecret as string;
      const rotated = await rotate(admin.apiKey, { graceSeconds: 3_600 });
      const changed = await patch(admin.apiKey, { snoozeDays: 5 });
      const reads = [rotated, changed, ...(await Promise.all([admin, supervisor, agent, integration].map((u) => get(u.apiKey))))];
      expect(reads.map((r) => r.status)).toEqual(Array(6).fill(200));
      for (const res of reads) expect(JSON.stringify(res.body)).not.toContain(old.slice('whsec_'.length));
      expect((await get(admin.apiKey)).body).toEqual({ ...SPEC_DEFAULTS, snoozeDays: 5, signingSecret: rotated.body.signingSecret });
      for (const u of [supervisor, agent, integration]) expect((await get(u.apiKey)).body).toEqual({ ...SPEC_DEFAULTS, snoozeDays: 5 });
    });

    it.each<[string, unknown]>([
      ['negative', -1],
      ['over 7 days', 604_801],
      ['not whole', 1.5],
      ['a string', '3600'],
      ['null', null],
    ])('should answer 400 naming graceSeconds when it is %s, and keep the secret', async (_what, graceSeconds) => {
      const { admin, org } = await setup();
      const { body } = await get(admin.apiKey);
      const res = await rotate(admin.apiKey, { graceSeconds });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['graceSeconds']);
      expect((await get(admin.apiKey)).body.signingSecret).toBe(body.signingSecret);
      expect(await eventTypes(org.orgId)).toEqual(['SettingsInitialized']);
    });

    it('should answer 400 naming an unknown field', async () => {
      const { admin } = await setup();
      const res = await rotate(admin.apiKey, { graceSecs: 60 });
      expectError(res, 400);
      expect(fieldsNamed(res)).toEqual(['graceSecs']);
    });

    it('should answer 403 to anyone but an admin', async () => {
      const { admin, supervisor, agent, integration } = await setup();
      const { body } = await get(admin.apiKey);
      for (const key of [supervisor.apiKey, agent.apiKey, integration.apiKey]) {
        expectError(await rotate(key), 403);
        expectError(await rotate(key, { graceSeconds: 60 }), 403);
      }
      expect((await get(admin.apiKey)).body.signingSecret).toBe(body.signingSecret);
    });
  });

  it('should rebuild the read model from the events into what it was', async () => {
    const { admin, org } = await setup();
    await patch(admin.apiKey, { snoozeDays: 6, callingWindow: { end: '20:00' } });
    await rotate(admin.apiKey);
    await patch(admin.apiKey, { snoozeDays: 7 }); // keeps the replaced secret
    const other = await setup();
    await rotate(other.admin.apiKey);
    await rotate(other.admin.apiKey, { graceSeconds: 0 }); // drops it
    const dump = async () => (await t.db.query('SELECT org_id, settings, version, updated_at FROM org_settings ORDER BY org_id')).rows;
    const live = await dump();
    const replaced = (orgId: string) => live.find((r) => r.org_id === orgId)?.settings.previousSigningSecret;
    expect({ overlapping: replaced(org.orgId), ended: replaced(other.org.orgId) }).toEqual({ overlapping: expect.objectContaining({ secret: expect.stringMatching(SECRET) }), ended: undefined });
    const { ProjectionRebuilder } = await import('@app/event-store');
    await t.app.get(ProjectionRebuilder).rebuild('settings');
    expect(await dump()).toEqual(live);
  });
});
