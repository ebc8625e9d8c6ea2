import { randomUUID } from 'node:crypto';
import { bearer, planReads, RanStatement, recordStatements, startTestApp, TestApp } from '@app/testing';

/**
 * The list filters a supervisor uses on a large organization are answered from an index, not by reading the org's
 * whole table (a scale audit found 0.5–2 s scans at 500,000 contacts and 3 M calls; migration 0028). The read models
 * are filled with SQL to a size where the planner's choice is the one it makes in production, then each list is asked
 * for over HTTP, and the SQL it ran is EXPLAINed with the values it was given.
 */
describe('list filters on a large organization (plans)', () => {
  let t: TestApp;
  let adminKey: string;
  let agent: { id: string; apiKey: string };
  let rareCampaign: string;
  let commonCampaign: string;
  let ran: RanStatement[] = [];

  beforeAll(async () => {
    t = await startTestApp({ worker: false });
    const org = await t.createOrg();
    adminKey = org.adminKey;
    agent = await t.createUser(adminKey, { name: 'Agent', role: 'agent' });
    const campaign = async (name: string) => (await t.http().post('/api/campaigns').set(bearer(adminKey)).send({ name })).body.id as string;
    commonCampaign = await campaign('Spring');
    rareCampaign = await campaign('Launched yesterday');
    const other = randomUUID();
    // 60,000 contacts (a third another org's), 240,000 calls; 40 contacts and 60 calls of the rare campaign, 2 % of
    // calls live, the agent holds 300 contacts of the org.
    await t.db.query(
      `INSERT INTO contacts (id, org_id, name, phone, timezone, lead_quality, lead_status, assigned_agent_id, tags, campaign_id, status, version, created_at, updated_at)
       SELECT gen_random_uuid(), CASE WHEN i % 3 = 0 THEN $2::uuid ELSE $1::uuid END,
              (ARRAY['Sarah','Omar','Ines','Kenji','Priya'])[1 + i % 5] || ' ' || (ARRAY['Lee','Haddad','Costa','Sato','Nair','Smithers'])[1 + (i / 5) % 6] || ' ' || i,
              '+1415' || lpad(i::text, 7, '0'), 'UTC', 'WARM', 'New',
              CASE WHEN i % 3 <> 0 AND i % 133 = 1 THEN $3::uuid ELSE gen_random_uuid() END, '{}',
              CASE WHEN i % 3 <> 0 AND i % 1000 = 1 THEN $4::uuid ELSE $5::uuid END, 'ACTIVE', 1,
              now() - make_interval(secs => 60000 - i), now()
         FROM generate_series(1, 60000) i`,
      [org.orgId, other, agent.id, rareCampaign, commonCampaign],
    );
    await t.db.query(
      `INSERT INTO calls (org_id, call_id, contact_id, agent_id, direction, status, live, duration_sec, connected, started_at, campaign_id, logged_at)
       SELECT c.org_id, 'seed-' || i, c.id, c.assigned_agent_id, 'outbound',
              CASE WHEN i % 50 = 0 THEN 'In-progress' ELSE 'Busy' END, i % 50 = 0, 0, false,
              now() - make_interval(secs => 240000 - i), c.campaign_id, now()
         FROM generate_series(1, 240000) i
         JOIN (SELECT id, org_id, assigned_agent_id, campaign_id, row_number() OVER (ORDER BY created_at) - 1 AS n FROM contacts) c ON c.n = i % 60000
        WHERE c.campaign_id <> $1::uuid OR i % 3 = 1`,
      [rareCampaign],
    );
    await t.db.query('ANALYZE contacts; ANALYZE calls');
    ({ ran } = recordStatements(t.db, /FROM (calls c|contacts WHERE)/));
  }, 120_000);
  afterAll(() => t?.close());

  /** Every index the plan of the SQL that `path` ran reads, and the tables it reads whole. */
  const planOf = async (path: string, key = adminKey) => {
    ran.length = 0;
    const res = await t.http().get(path).set(bearer(key));
    expect(res.status).toBe(200);
    expect(ran).toHaveLength(1);
    const [{ text, values }] = ran;
    const { indexes, seqScans } = await planReads(t.db, text, values);
    return { body: res.body, indexes, seqScans };
  };

  it("should find a campaign's calls through calls_campaign_ix, and only that campaign's", async () => {
    const { body, indexes, seqScans } = await planOf(`/api/calls?campaignId=${rareCampaign}&limit=50`);
    expect(indexes).toContain('calls_campaign_ix');
    expect(seqScans.size).toBe(0);
    expect(body.calls.length).toBeGreaterThan(0);
    expect(body.calls.every((c: { campaignId: string }) => c.campaignId === rareCampaign)).toBe(true);
  });

  it('should find In-progress calls through calls_live_ix', async () => {
    const { body, indexes, seqScans } = await planOf('/api/calls?status=In-progress&limit=50');
    expect(indexes).toContain('calls_live_ix');
    expect(seqScans.size).toBe(0);
    expect(body.calls).toHaveLength(50);
    expect(body.calls.every((c: { status: string; live: boolean }) => c.status === 'In-progress' && c.live)).toBe(true);
  });

  it("should read no table whole for an agent's calls", async () => {
    const { body, seqScans } = await planOf('/api/calls?limit=50', agent.apiKey);
    expect(seqScans.size).toBe(0);
    expect(body.calls).toHaveLength(50);
  });

  it("should find a campaign's contacts through contacts_org_campaign_ix", async () => {
    const { body, indexes, seqScans } = await planOf(`/api/contacts?campaignId=${rareCampaign}&limit=50`);
    expect(indexes).toContain('contacts_org_campaign_ix');
    expect(seqScans.size).toBe(0);
    expect(body.contacts).toHaveLength(40);
  });

  it('should search names and phones through the trigram indexes when few contacts match', async () => {
    // (the matches are found first for any search of three characters or more: contacts.repository.ts list)
    const { body, indexes, seqScans } = await planOf('/api/contacts?q=4321&limit=50');
    // (and the page's rows read back by contacts_pkey)
    expect([...indexes].filter((i) => i !== 'contacts_pkey').sort()).toEqual(['contacts_name_trgm_ix', 'contacts_phone_trgm_ix']);
    expect(seqScans.size).toBe(0);
    expect(body.contacts.length).toBeGreaterThan(0);
    expect(body.contacts.every((c: { name: string; phone: string }) => c.name.includes('4321') || c.phone.includes('4321'))).toBe(true);
    const byPhone = await planOf('/api/contacts?q=0012346&limit=50');
    expect(byPhone.seqScans.size).toBe(0);
    expect(byPhone.body.contacts.map((c: { phone: string }) => c.phone)).toEqual(['+14150012346']);
  });
});
