import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { Webhook } from 'standardwebhooks';
import { ProjectionRebuilder } from '@app/event-store';
import { forgetCachedSettings, parseSecretKeys, SecretBox } from '@app/settings';
import { Clock } from '@app/shared';
import {
  eventually,
  executionOrg,
  fieldsOf,
  FollowUpView,
  readFollowUp,
  recordingClient,
  requestsFor,
  scheduleFollowUp,
  sinkPool,
  SinkRequest,
  startTestApp,
  TestApp,
} from '@app/testing';

const HOUR = 3_600_000;
const iso = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();

jest.setTimeout(60_000);

let t: TestApp;
const sinks = sinkPool();
const client = recordingClient(() => t, { throwOn5xx: true });
beforeAll(async () => {
  // The signing secrets sealed at rest (SECRET_KEYS): every delivery below signs with secrets read back from the store.
  t = await startTestApp({ env: { SECRET_KEYS: `${randomBytes(32).toString('base64')},${randomBytes(32).toString('base64')}` } });
});
afterAll(async () => {
  await sinks.closeAll();
  await t?.close();
});

/**
 * A rotation of the signing secret overlaps (SPEC §7): for a grace period the replaced secret signs beside the new one,
 * so a receiver that has not switched yet keeps accepting the org's requests. Delivered by the real worker to a local
 * receiver, checked with the Standard Webhooks library as a receiver would.
 */
describe('signing secret rotation (SPEC §7)', () => {
  const { send } = client;
  const setup = (settings: Record<string, unknown> = {}) => executionOrg(t, send, settings);
  type Org = Awaited<ReturnType<typeof setup>>;

  const rotate = async (o: Org, body: Record<string, unknown> = {}) => {
    const res = await send('post', '/api/settings/signing-secret/rotate', o.admin, body);
    expect(res.status).toBe(200);
    return res.body as { signingSecret: string; previousSigningSecretExpiresAt: string | null };
  };

  let phoneSeq = 2000;
  const createContact = async (o: Org): Promise<string> => {
    const res = await send('post', '/api/contacts', o.admin, { name: 'Sarah Lee', phone: `+1415557${String(phoneSeq++).padStart(4, '0')}`, assignedAgentId: o.agent.id });
    expect(res.status).toBe(201);
    return (res.body as { id: string }).id;
  };

  /** Schedules a follow-up due now and waits for the worker to complete it. */
  const deliver = async (o: Org, contactId: string, body: Record<string, unknown>): Promise<FollowUpView> => {
    const f = await scheduleFollowUp(send, o.admin, contactId, { scheduledAt: iso(0), maxAttempts: 1, ...body });
    await eventually(async () => expect(await readFollowUp(send, o.admin, f.id)).toMatchObject({ status: 'completed' }), 30_000);
    return f;
  };

  const headersOf = (r: SinkRequest) => ({
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  });
  /** Whether a receiver holding `secret` accepts the request. */
  const verifies = (r: SinkRequest, secret: string): boolean => {
    try {
      return isDeepStrictEqual(new Webhook(secret).verify(r.rawBody, headersOf(r)), r.body);
    } catch {
      return false;
    }
  };
  const signatureCount = (r: SinkRequest) => headersOf(r)['webhook-signature'].split(' ').length;

  it('should sign deliveries with the new and the old secret during the overlap, and with the new one alone after it ends', async () => {
    const sms = await sinks.open();
    const o = await setup({ sms: { url: `${sms.url}/send` } });
    const hook = await sinks.open();
    const contactId = await createContact(o);
    const old = o.secret;

    const rotated = await rotate(o); // the default overlap: a day
    expect(rotated.signingSecret).not.toBe(old);
    const expiresAt = Date.parse(rotated.previousSigningSecretExpiresAt!);
    expect(Math.abs(expiresAt - (Date.now() + 24 * HOUR))).toBeLessThan(60_000);

    // During the overlap: a receiver holding either secret accepts the webhook and the text.
    const webhook = await deliver(o, contactId, { type: 'webhook', url: `${hook.url}/hook` });
    const text = await deliver(o, contactId, { type: 'sms', message: 'Your quote is ready' });
    for (const [r] of [requestsFor(hook, webhook.id), requestsFor(sms, text.id)]) {
      expect(signatureCount(r)).toBe(2);
      expect({ withNew: verifies(r, rotated.signingSecret), withOld: verifies(r, old) }).toEqual({ withNew: true, withOld: true });
    }

    // The service's clock moves past the end of the overlap: the next delivery is signed with the new secret alone.
    const clock = t.app.get(Clock);
    const shift = expiresAt + 60_000 - Date.now();
    clock.now = () => new Date(Date.now() + shift);
    try {
      const later = await deliver(o, contactId, { type: 'webhook', url: `${hook.url}/hook` });
      const [r] = requestsFor(hook, later.id);
      expect(signatureCount(r)).toBe(1);
      expect({ withNew: verifies(r, rotated.signingSecret), withOld: verifies(r, old) }).toEqual({ withNew: true, withOld: false });
    } finally {
      delete (clock as Partial<Clock>).now; // the prototype's again
    }
  });

  it('should keep the signing secrets sealed at rest, in the events and the read model, also after a rebuild', async () => {
    const o = await setup();
    const rotated = await rotate(o, { graceSeconds: 3_600 });
    const atRest = async () => {
      const { rows } = await t.db.query<{ text: string }>(
        `SELECT data::text AS text FROM events WHERE org_id = $1 UNION ALL SELECT settings::text FROM org_settings WHERE org_id = $1`,
        [o.orgId],
      );
      return rows.map((r) => r.text).join('\n');
    };
    const stored = await atRest();
    expect(stored).toContain('enc:v1:');
    // the base64 part of each secret, which a sealed text could not hold by chance
    for (const secret of [o.secret, rotated.signingSecret]) expect(stored).not.toContain(secret.slice(6));
    await t.app.get(ProjectionRebuilder).rebuild('settings');
    const rebuilt = await atRest();
    for (const secret of [o.secret, rotated.signingSecret]) expect(rebuilt).not.toContain(secret.slice(6));
    expect((await send('get', '/api/settings', o.admin)).body.signingSecret).toBe(rotated.signingSecret);
  });

  it('should keep serving and changing the settings when the key of their secret is lost, and sign again once the secret is rotated', async () => {
    const o = await setup();
    const hook = await sinks.open();
    const contactId = await createContact(o);
    // The process loses the key the org's secret was sealed with (SECRET_KEYS now lists another one only).
    const box = t.app.get(SecretBox) as unknown as { keys: unknown };
    const keys = box.keys;
    box.keys = parseSecretKeys(randomBytes(32).toString('base64'));
    forgetCachedSettings(o.orgId);
    try {
      expect((await send('get', '/api/settings', o.agent.apiKey)).status).toBe(200);
      expect((await send('get', '/api/settings', o.admin)).body.signingSecret).toMatch(/^\[sealed with key [0-9a-f]{8}, which SECRET_KEYS does not list/);
      expect((await send('patch', '/api/settings', o.admin, { snoozeDays: 2 })).body).toMatchObject({ snoozeDays: 2 });
      // nothing signs with a secret it cannot read: the attempt fails saying why, and nothing is sent
      const unsigned = await scheduleFollowUp(send, o.admin, contactId, { type: 'webhook', url: hook.url, scheduledAt: iso(0), maxAttempts: 1 });
      await eventually(async () => expect(await readFollowUp(send, o.admin, unsigned.id)).toMatchObject({ status: 'failed', lastError: expect.stringContaining('SECRET_KEYS does not list') }), 30_000);
      expect(requestsFor(hook, unsigned.id)).toEqual([]);
      // a rotation makes a secret it can read (the lost one cannot overlap)
      const rotated = await rotate(o, { graceSeconds: 3_600 });
      expect(rotated.signingSecret).toMatch(/^whsec_/);
      const f = await deliver(o, contactId, { type: 'webhook', url: hook.url });
      const [r] = requestsFor(hook, f.id);
      expect(signatureCount(r)).toBe(1);
      expect(verifies(r, rotated.signingSecret)).toBe(true);
    } finally {
      box.keys = keys;
      forgetCachedSettings(o.orgId);
    }
  });

  it('should keep only the immediately previous secret signing when a second rotation comes during the overlap', async () => {
    const o = await setup();
    const hook = await sinks.open();
    const contactId = await createContact(o);
    const first = await rotate(o, { graceSeconds: 3_600 });
    const second = await rotate(o, { graceSeconds: 3_600 });
    const f = await deliver(o, contactId, { type: 'webhook', url: hook.url });
    const [r] = requestsFor(hook, f.id);
    expect(signatureCount(r)).toBe(2);
    expect({ newest: verifies(r, second.signingSecret), previous: verifies(r, first.signingSecret), oldest: verifies(r, o.secret) }).toEqual({
      newest: true,
      previous: true,
      oldest: false,
    });
  });

  it('should sign with the new secret alone at once after a rotation with graceSeconds 0', async () => {
    const o = await setup();
    const hook = await sinks.open();
    const contactId = await createContact(o);
    const rotated = await rotate(o, { graceSeconds: 0 });
    expect(rotated.previousSigningSecretExpiresAt).toBeNull();
    const f = await deliver(o, contactId, { type: 'webhook', url: hook.url });
    const [r] = requestsFor(hook, f.id);
    expect(signatureCount(r)).toBe(1);
    expect({ withNew: verifies(r, rotated.signingSecret), withOld: verifies(r, o.secret) }).toEqual({ withNew: true, withOld: false });
  });

  it('should show neither secret to anyone but an admin, and the replaced one to nobody, after a rotation', async () => {
    const o = await setup();
    const supervisor = await t.createUser(o.admin, { name: 'Sue', role: 'supervisor' });
    const integration = await t.createUser(o.admin, { name: 'Dialler', role: 'integration' });
    const rotated = await rotate(o, { graceSeconds: 3_600 });
    const key = (secret: string) => secret.slice('whsec_'.length);
    for (const apiKey of [o.agent.apiKey, supervisor.apiKey, integration.apiKey]) {
      const res = await send('get', '/api/settings', apiKey);
      expect(res.status).toBe(200);
      const text = JSON.stringify(res.body);
      expect(text).not.toContain('whsec_');
      expect(text).not.toMatch(/signingSecret/i);
      for (const secret of [o.secret, rotated.signingSecret]) expect(text).not.toContain(key(secret));
    }
    const admin = await send('get', '/api/settings', o.admin);
    expect((admin.body as { signingSecret: string }).signingSecret).toBe(rotated.signingSecret);
    expect(JSON.stringify(admin.body)).not.toContain(key(o.secret));
  });

  it('should answer 400 naming graceSeconds out of 0..7 days, and 403 to anyone but an admin, rotating nothing', async () => {
    const o = await setup();
    const supervisor = await t.createUser(o.admin, { name: 'Sue', role: 'supervisor' });
    for (const graceSeconds of [-1, 604_801, '60']) {
      const res = await send('post', '/api/settings/signing-secret/rotate', o.admin, { graceSeconds });
      expect({ status: res.status, fields: fieldsOf((res.body as { message: string[] }).message) }).toEqual({ status: 400, fields: ['graceSeconds'] });
    }
    for (const apiKey of [o.agent.apiKey, supervisor.apiKey]) expect((await send('post', '/api/settings/signing-secret/rotate', apiKey, { graceSeconds: 60 })).status).toBe(403);
    expect((await send('get', '/api/settings', o.admin)).body).toMatchObject({ signingSecret: o.secret });
  });
});
