import { eventually, executionOrg, recordingClient, requestsFor, scheduleFollowUp, startHttpSink, startTestApp, TestApp, HttpSink } from '@app/testing';

/**
 * One organization's slow receivers must not hold up another's follow-ups for ever: once an organization's jobs run
 * slow, a worker runs at most WORKER_ORG_CONCURRENCY of them at once (here 2 of a concurrency of 4) and puts the rest
 * back for a moment. Org A's webhooks, urgent, all go to a receiver that never answers (each attempt ends at the 10 s
 * timeout); org B's one webhook, due at the same time and of low priority, must go out when A's first wave ends, not
 * after A's whole backlog.
 */
describe('worker fairness between organizations', () => {
  let t: TestApp;
  const sinks: HttpSink[] = [];
  const client = recordingClient(() => t, { throwOn5xx: true });
  const { send } = client;

  beforeAll(async () => {
    t = await startTestApp({ env: { WORKER_CONCURRENCY: '4', WORKER_ORG_CONCURRENCY: '2' } });
  });
  afterAll(async () => {
    for (const s of sinks) {
      for (const r of s.requests) r.release(200);
      await s.close();
    }
    await t?.close();
  });

  const contactOf = async (admin: string, agentId: string, phone: string) => {
    const res = await send('post', '/api/contacts', admin, { name: 'Sarah Lee', phone, assignedAgentId: agentId });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  it("should deliver another organization's webhook once one organization's hang, and theirs after", async () => {
    const held = await startHttpSink();
    const open = await startHttpSink();
    sinks.push(held, open);
    held.hold();
    const a = await executionOrg(t, send);
    const b = await executionOrg(t, send);
    const aContact = await contactOf(a.admin, a.agent.id, '+14155550201');
    const bContact = await contactOf(b.admin, b.agent.id, '+14155550202');
    const due = new Date(Date.now() + 1500).toISOString();
    // A's are urgent: they come first in the shared queue
    const aFollowUps = [];
    for (let i = 0; i < 12; i++) {
      aFollowUps.push(await scheduleFollowUp(send, a.admin, aContact, { type: 'webhook', url: `${held.url}/a${i}`, scheduledAt: due, priority: 'urgent' }));
    }
    const bFollowUp = await scheduleFollowUp(send, b.admin, bContact, { type: 'webhook', url: `${open.url}/b`, scheduledAt: due, priority: 'low' });

    await eventually(() => expect(requestsFor(open, bFollowUp.id)).toHaveLength(1), 40_000);
    // A's first wave took all 4 slots until its timeouts; after it, A ran only its share (2) at once, and B's went.
    // Without the share, A's next 4 would have taken every slot again, for another 10 s, and so on through A's backlog.
    expect(held.requests.length).toBeGreaterThanOrEqual(4);
    expect(held.requests.length).toBeLessThanOrEqual(6);

    // A's are delivered once its receiver answers
    held.respondWith(200);
    for (const f of aFollowUps) {
      await eventually(async () => expect((await send('get', `/api/follow-ups/${f.id}`, a.admin)).body).toMatchObject({ status: 'completed' }), 60_000);
    }
    client.expectNo5xx();
  }, 120_000);
});
