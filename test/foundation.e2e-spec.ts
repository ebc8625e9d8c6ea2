import { bearer, startTestApp, TestApp } from '@app/testing';

describe('foundation over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  it('should answer ready when Postgres and Redis answer', async () => {
    const res = await t.http().get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.details).toEqual({ postgres: { status: 'up' }, redis: { status: 'up' } });
  });

  it('should let an org admin create an agent whose key works once shown', async () => {
    const org = await t.createOrg();
    const res = await t.http().post('/api/users').set(bearer(org.adminKey)).send({ name: 'Ana', role: 'agent', branch: 'North' });
    expect(res.status).toBe(201);
    expect(res.body.apiKey).toMatch(/^fk_/);
    const agents = await t.http().get('/api/agents').set(bearer(res.body.apiKey));
    expect(agents.status).toBe(200);
    expect(agents.body.agents.map((a: { name: string }) => a.name)).toEqual(['Ana']);
  });
});
