import { bearer, eventually, startHttpSink, startTestApp, TestApp } from '@app/testing';

describe('follow-up execution (smoke)', () => {
  let t: TestApp;
  let admin: string;
  let contactId: string;
  let sink: Awaited<ReturnType<typeof startHttpSink>>;
  beforeAll(async () => {
    t = await startTestApp();
    sink = await startHttpSink();
    admin = (await t.createOrg()).adminKey;
    const s = await t.http().patch('/api/settings').set(bearer(admin)).send({ webhooks: { allowHttpHosts: ['127.0.0.1'] }, retryDelaySeconds: 1 });
    expect(s.status).toBe(200);
    const c = await t.http().post('/api/contacts').set(bearer(admin)).send({ name: 'Sarah Lee', phone: '+14155550123' });
    contactId = c.body.id;
  });
  afterAll(async () => {
    await sink?.close();
    await t?.close();
  });

  it('should deliver a due webhook follow-up and complete it', async () => {
    const res = await t.http().post(`/api/contacts/${contactId}/follow-ups`).set(bearer(admin)).send({ type: 'webhook', url: sink.url, scheduledAt: new Date().toISOString() });
    expect(res.status).toBe(201);
    const done = await eventually(async () => {
      const f = await t.http().get(`/api/follow-ups/${res.body.id}`).set(bearer(admin));
      expect(f.body.status).toBe('completed');
      return f.body;
    }, 15_000);
    expect(done.attempts).toBe(1);
    expect(sink.requests).toHaveLength(1);
    expect(sink.requests[0].headers['webhook-id']).toBe(`${res.body.id}.1`);
  });

  it('should retry a failing webhook and fail it after the last attempt', async () => {
    sink.respondWith(500);
    const res = await t.http().post(`/api/contacts/${contactId}/follow-ups`).set(bearer(admin)).send({ type: 'webhook', url: sink.url, maxAttempts: 2 });
    await t.http().post(`/api/follow-ups/${res.body.id}/reschedule`).set(bearer(admin)).send({ scheduledAt: new Date().toISOString() }).expect(200);
    const failed = await eventually(async () => {
      const f = await t.http().get(`/api/follow-ups/${res.body.id}`).set(bearer(admin));
      expect(f.body.status).toBe('failed');
      return f.body;
    }, 20_000);
    expect(failed.attempts).toBe(2);
  });
});
