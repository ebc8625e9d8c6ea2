import { randomUUID } from 'node:crypto';
import { ProjectionRebuilder } from '@app/event-store';
import { installNo5xxGuard, recordingClient, startTestApp, TestApp } from '@app/testing';

/**
 * A rebuild replays the log as stored. Before migration 0020 a callId could be stored in two contacts' streams (an
 * In-progress push for one, a final push for another); the calls table now refuses to move a call, except while a
 * rebuild replays such a history (migration 0021).
 */
describe('calls: rebuilding a history stored before a callId was kept to one contact', () => {
  let t: TestApp;
  const client = recordingClient(() => t);
  installNo5xxGuard(client);
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  it('should rebuild the contacts read model from a history with one callId under two contacts, and refuse that outside a rebuild', async () => {
    const org = await t.createOrg('Org');
    const agent = await t.createUser(org.adminKey, { name: 'Ana', role: 'agent' });
    const contact = async (n: number) =>
      (await client.send('post', '/api/contacts', org.adminKey, { name: `Lead ${n}`, phone: `+1415557000${n}`, assignedAgentId: agent.id })).body.id as string;
    const [a, b] = [await contact(1), await contact(2)];
    const callsOf = async (id: string) => ((await client.get(`/api/contacts/${id}/calls`, org.adminKey)).body.calls as { callId: string; status: string }[]).map((c) => [c.callId, c.status]);
    const push = (contactId: string, body: Record<string, unknown>) =>
      client.send('post', '/api/calls', org.adminKey, { contactId, agentId: agent.id, direction: 'outbound', durationSec: 0, startedAt: new Date(Date.now() - 60_000).toISOString(), ...body });

    const x = randomUUID();
    expect((await push(a, { callId: x, status: 'In-progress' })).status).toBe(201);
    // more calls than a rebuild page holds (10,000 events), so the replay writes a's live row before it reads b's call
    const c = await contact(3);
    for (let k = 0; k < 11; k++) {
      const many = Array.from({ length: 1000 }, () => ({ contactId: c, agentId: agent.id, callId: randomUUID(), direction: 'outbound', status: 'Busy', durationSec: 0, startedAt: new Date(Date.now() - 60_000).toISOString() }));
      expect((await client.send('post', '/api/calls/batch', org.adminKey, { calls: many })).status).toBe(200);
    }
    expect((await push(b, { callId: randomUUID(), status: 'Busy' })).status).toBe(201);
    // The old race's outcome, stored as it could be then: a final CallLogged for x in b's stream (no projection).
    const { rows } = await t.db.query(`SELECT data, metadata FROM events WHERE stream_id = $1 AND type = 'CallLogged'`, [`contact-${b}`]);
    await t.db.query(`SELECT * FROM fu_append_many_json($1, $2, $3, $4, $5, $6, $7, $8)`, [
      org.orgId,
      [`contact-${b}`],
      [-1],
      [1],
      ['CallLogged'],
      JSON.stringify([{ ...rows[0].data, callId: x }]),
      JSON.stringify(rows[0].metadata),
      [null],
    ]);

    await expect(t.app.get(ProjectionRebuilder).rebuild('contacts')).resolves.toMatchObject({ events: expect.any(Number) });
    // as the history says: x's final row, in b's list (the live row of a is replaced by the final one)
    expect(await callsOf(b)).toContainEqual([x, 'Busy']);
    expect((await callsOf(a)).map(([id]) => id)).not.toContain(x);

    // outside a rebuild the calls table still refuses to move a call
    await expect(t.db.query(`UPDATE calls SET contact_id = $1 WHERE call_id = $2`, [a, x])).rejects.toMatchObject({ code: 'CL409' });
  }, 120_000);
});
