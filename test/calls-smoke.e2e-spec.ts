import { randomUUID } from 'node:crypto';
import { bearer, startTestApp, TestApp } from '@app/testing';

describe('call ingest (smoke)', () => {
  let t: TestApp;
  let admin: string;
  let agent: { id: string; apiKey: string };
  let contactId: string;
  beforeAll(async () => {
    t = await startTestApp();
    admin = (await t.createOrg()).adminKey;
    agent = await t.createUser(admin, { name: 'Ana', role: 'agent' });
    const res = await t.http().post('/api/contacts').set(bearer(admin)).send({ name: 'Sarah Lee', phone: '+14155550123', assignedAgentId: agent.id });
    expect(res.status).toBe(201);
    contactId = res.body.id;
  });
  afterAll(async () => t?.close());

  const push = (body: Record<string, unknown>) =>
    t.http().post('/api/calls').set(bearer(admin)).send({ contactId, agentId: agent.id, direction: 'outbound', durationSec: 0, startedAt: new Date().toISOString(), ...body });

  it('should record a busy call once and move the lead to Not Picked', async () => {
    const callId = randomUUID();
    const first = await push({ callId, status: 'Busy' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'accepted', leadStatus: 'Not Picked' });
    const again = await push({ callId, status: 'Busy' });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('duplicate');
    const contact = await t.http().get(`/api/contacts/${contactId}`).set(bearer(agent.apiKey));
    expect(contact.body.leadStatus).toBe('Not Picked');
    const calls = await t.http().get(`/api/contacts/${contactId}/calls`).set(bearer(agent.apiKey));
    expect(calls.body.calls.filter((c: { callId: string }) => c.callId === callId)).toHaveLength(1);
  });

  it('should schedule a follow-up from a Follow up call and show it in the timeline', async () => {
    const res = await push({ callId: randomUUID(), status: 'Follow up', durationSec: 120, followUp: { notes: 'send pricing' } });
    expect(res.status).toBe(201);
    expect(res.body.leadStatus).toBe('Followups');
    const contact = await t.http().get(`/api/contacts/${contactId}`).set(bearer(admin));
    expect(contact.body.nextFollowUpAt).not.toBeNull();
    const timeline = await t.http().get(`/api/contacts/${contactId}/timeline`).set(bearer(admin));
    expect(timeline.body.entries.slice(0, 3).map((e: { kind: string }) => e.kind)).toEqual(['lead_status_changed', 'follow_up_scheduled', 'call']);
  });

  it('should answer a mixed batch per item', async () => {
    const res = await t
      .http()
      .post('/api/calls/batch')
      .set(bearer(admin))
      .send({
        calls: [
          { callId: 'b1', contactId, agentId: agent.id, direction: 'inbound', status: 'Missed', durationSec: 0, startedAt: new Date().toISOString() },
          { callId: 'b2', contactId, agentId: agent.id, direction: 'inbound', status: 'Nope', durationSec: -1, startedAt: 'x' },
          { callId: 'b3', contactId: randomUUID(), agentId: agent.id, direction: 'inbound', status: 'Missed', durationSec: 0, startedAt: new Date().toISOString() },
        ],
      });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'rejected', 'rejected']);
    expect(res.body.results[1].error).toMatch(/status/);
    expect(res.body.results[1].error).toMatch(/durationSec/);
    expect(res.body.results[1].error).toMatch(/startedAt/);
    expect(res.body.results[2].statusCode).toBe(404);
  });
});
