import { bearer, startTestApp, TestApp } from '@app/testing';

describe('hub (smoke)', () => {
  let t: TestApp;
  let admin: string;
  let agent: { id: string; apiKey: string };
  beforeAll(async () => {
    t = await startTestApp();
    admin = (await t.createOrg()).adminKey;
    agent = await t.createUser(admin, { name: 'Ana', role: 'agent' });
  });
  afterAll(async () => t?.close());

  const contactDue = async (name: string, quality: string, dueAt: Date) => {
    const c = await t.http().post('/api/contacts').set(bearer(admin)).send({ name, phone: '+14155550123', assignedAgentId: agent.id, leadQuality: quality });
    const f = await t.http().post(`/api/contacts/${c.body.id}/follow-ups`).set(bearer(admin)).send({ scheduledAt: dueAt.toISOString() });
    expect(f.status).toBe(201);
    return c.body.id as string;
  };

  it('should list due contacts in the hub order and clear them with done', async () => {
    const now = Date.now();
    const cold = await contactDue('Zed', 'COLD', new Date(now - 2 * 86_400_000));
    const hotToday = await contactDue('Amy', 'HOT', new Date(now - 1000));
    const hotOld = await contactDue('Bob', 'HOT', new Date(now - 4 * 86_400_000));
    await contactDue('Later', 'HOT', new Date(now + 3 * 86_400_000));
    const res = await t.http().get('/api/follow-ups/due?limit=200').set(bearer(agent.apiKey));
    expect(res.status).toBe(200);
    expect(res.body.followUps.map((f: { id: string }) => f.id)).toEqual([hotOld, hotToday, cold]);
    expect(res.body.followUps[0]).toMatchObject({ reason: 'Follow-up overdue by 4 days', suggestedTiming: 'Overdue', isHot: true, overdueDays: 4 });
    expect(res.body.counts).toEqual({ all: 3, overdue: 2, today: 1, hot: 2 });
    const done = await t.http().patch('/api/follow-ups/due').set(bearer(agent.apiKey)).send({ personIds: [hotOld, cold], action: 'done' });
    expect(done.body).toEqual({ ok: true, count: 2, action: 'done' });
    const after = await t.http().get('/api/follow-ups/due').set(bearer(agent.apiKey));
    expect(after.body.followUps.map((f: { id: string }) => f.id)).toEqual([hotToday]);
    expect(after.body.counts).toEqual({ all: 1, overdue: 0, today: 1, hot: 1 });
  });
});
