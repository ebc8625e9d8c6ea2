import { randomUUID } from 'node:crypto';
import { Response } from 'supertest';
import { eventually, fieldsNamed, startTestApp, TestApp } from '@app/testing';

/**
 * Who may do what, inside one organization (SPEC §2, §6, §7, §9), over every operation of the API's own OpenAPI
 * document: each role's answer, what an agent can see and change of another agent's contacts, the hub's agentId, the
 * signing secret, and what an integration key may reach. test/hostile-input.e2e-spec.ts covers hostile input and other
 * organizations' ids; this file does not repeat it.
 */

jest.setTimeout(120_000);

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head';
/** The methods an OpenAPI path item may document operations under (HEAD is Fastify's, from each GET). */
const METHODS: Method[] = ['get', 'post', 'put', 'patch', 'delete'];
type Role = 'admin' | 'supervisor' | 'agent' | 'integration';
const ROLES: Role[] = ['admin', 'supervisor', 'agent', 'integration'];

/** Every role gets this answer. */
const all = (status: number): Record<Role, number> => ({ admin: status, supervisor: status, agent: status, integration: status });
/** Admins, supervisors and agents get `status`; integrations 403 (see MATRIX). */
const staff = (status: number): Record<Role, number> => ({ ...all(status), integration: 403 });
/** Admins and supervisors get `status`; agents and integrations 403. */
const supervisors = (status: number): Record<Role, number> => ({ admin: status, supervisor: status, agent: 403, integration: 403 });
/** Admins only. */
const admins = (status: number): Record<Role, number> => ({ admin: status, supervisor: 403, agent: 403, integration: 403 });

/**
 * The answer of each operation to each role's key, with a valid request on records that role may see (an agent's
 * requests name a contact assigned to them; see `requestFor`). A new operation of the OpenAPI document fails the first
 * test until it is written down here.
 *
 * Integration keys (SPEC §9: they "push calls and events for any contact of their org") get the call pushes and the
 * reference data a dialler needs to name the ids of a push: the agents (agentId), the campaigns (campaignId) and the
 * settings without the signing secret (the code's declared intent, settings.controller.ts "every role may read them").
 * SPEC gives them no contact, note, follow-up, hub or report, so reading or changing any of those is a 403 (wrong
 * role, SPEC §9), not the whole organization's records.
 */
const MATRIX: Record<string, Record<Role, number>> = {
  // SPEC §9: POST /api/users is for admins. Reading one user is for those who manage people (code: admin, supervisor);
  // changing one and revoking keys is an admin's (code).
  'POST /api/users': admins(201),
  'GET /api/users/{id}': supervisors(200),
  // Every key may read its own user (code: a client learns its timezone and role).
  'GET /api/users/me': all(200),
  'PATCH /api/users/{id}': admins(200),
  'DELETE /api/api-keys/{id}': admins(204),
  // Issuing and listing a user's keys is an admin's, as creating users and revoking keys are (code).
  'POST /api/users/{id}/api-keys': admins(201),
  'GET /api/users/{id}/api-keys': admins(200),
  // Everyone picks agents (the seed's schedule dialog loads them; a dialler names agentId).
  'GET /api/agents': all(200),

  // Contacts: agents their own (SPEC §9), supervisors and admins all of the org.
  'POST /api/contacts': staff(201),
  'GET /api/contacts': staff(200),
  'GET /api/contacts/{id}': staff(200),
  'PATCH /api/contacts/{id}': staff(200),
  'POST /api/contacts/{id}/notes': staff(201),
  'GET /api/contacts/{id}/timeline': staff(200),
  'GET /api/contacts/{id}/calls': staff(200),
  'POST /api/contacts/{id}/follow-ups': staff(201),
  'GET /api/contacts/{id}/follow-ups': staff(200),

  // Campaigns: created by supervisors and admins (code), read by all (a push names campaignId).
  'POST /api/campaigns': supervisors(201),
  'GET /api/campaigns': all(200),

  // Calls: everyone pushes (an agent their own calls on their own contacts, code); live calls are for supervisors
  // (SPEC §8); the call list follows the contacts' visibility.
  'POST /api/calls': all(201),
  'POST /api/calls/batch': all(200),
  'GET /api/calls': staff(200),
  'GET /api/calls/live': supervisors(200),

  // SPEC §7: changed by admins; read by every role, the secret shown to admins only.
  'GET /api/settings': all(200),
  'PATCH /api/settings': admins(200),
  'POST /api/settings/signing-secret/rotate': admins(200),

  // SPEC §6: the hub lists the caller's own contacts; PATCH drops ids not assigned to the caller, and 404s when none is
  // left: admins and supervisors acting on an agent's contact get that 404.
  'GET /api/follow-ups/due': staff(200),
  'PATCH /api/follow-ups/due': { admin: 404, supervisor: 404, agent: 200, integration: 403 },

  // Follow-ups follow their contact's visibility.
  'GET /api/follow-ups': staff(200),
  'GET /api/follow-ups/{id}': staff(200),
  'POST /api/follow-ups/{id}/snooze': staff(200),
  'POST /api/follow-ups/{id}/reschedule': staff(200),
  'POST /api/follow-ups/{id}/cancel': staff(200),
  'POST /api/follow-ups/{id}/complete': staff(200),

  // SPEC §8: reports are supervisors' read models.
  'GET /api/reports/calls': supervisors(200),
  'GET /api/reports/follow-ups': supervisors(200),
};

interface OpenApiDocument {
  paths: Record<string, Partial<Record<Method, unknown>>>;
}

interface User {
  id: string;
  apiKey: string;
  apiKeyId: string;
}

interface Contact {
  id: string;
  name: string;
  phone: string;
}

const HOUR = 3600_000;
const iso = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();
let phoneSeq = 2000;
const nextPhone = () => `+1415557${String(phoneSeq++).padStart(4, '0')}`;
/** A keyset cursor in the form the API makes them (contacts.repository.ts encodeCursor), made by hand. */
const craftCursor = (at: string, id: string) => Buffer.from(JSON.stringify([at, id])).toString('base64url');

describe('roles and visibility over every operation of the OpenAPI document (SPEC §2, §6, §7, §9)', () => {
  let t: TestApp;
  let labels: string[];

  /** Every answer seen, with who asked: the signing secret must be in none of a non-admin's. */
  const seen: { who: string; req: string; status: number; text: string }[] = [];

  const send = async (who: string, key: string | null, method: Method, url: string, body?: unknown, authorization?: string): Promise<Response> => {
    let req = t.http()[method](url);
    if (authorization !== undefined) req = req.set('authorization', authorization);
    else if (key !== null) req = req.set('authorization', `Bearer ${key}`);
    const res = body === undefined ? await req : await req.send(body as object);
    seen.push({ who, req: `${method.toUpperCase()} ${url}`, status: res.status, text: `${res.text ?? ''}${JSON.stringify(res.body ?? null)}` });
    return res;
  };

  const ok = (res: Response, what: string) => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };

  // The organization, made over HTTP -----------------------------------------------------------------------------------
  let admin: { id: string; apiKey: string };
  let supervisor: User;
  /** Agent 1: the one whose reach is probed. */
  let ana: User;
  /** Agent 2: whose records agent 1 must neither see nor change. */
  let ben: User;
  let dialler: User;
  /** Deactivated. */
  let ivy: User;
  /** An agent whose only key is revoked. */
  let rex: User;
  /** The user GET/PATCH /api/users/{id} name. */
  let sam: User;
  let campaignId: string;

  /** Ana's: a hot lead with a future and an overdue follow-up, a note and a call. */
  let anaLead: Contact;
  /** Ana's: with an overdue follow-up, for the hub PATCH that mixes her contact and Ben's. */
  let anaHubLead: Contact;
  /** Ana's: the contact the role matrix's requests name (pushed calls, notes, follow-ups). */
  let matrixLead: Contact;
  /** Ben's, two of them (for a page with a nextCursor), and one assigned to nobody. */
  let benLead: Contact;
  let benLead2: Contact;
  let unassigned: Contact;

  const ids = {} as {
    anaFollowUp: string;
    anaDueFollowUp: string;
    anaHubDueFollowUp: string;
    anaNote: string;
    anaCall: string;
    benFollowUp: string;
    benDueFollowUp: string;
    benFollowUp2: string;
    benNote: string;
    benNote2: string;
    benCall: string;
    benCall2: string;
    benLiveCall: string;
    unassignedFollowUp: string;
    unassignedNote: string;
    unassignedCall: string;
  };
  const benNoteText = `Ben's private remark ${randomUUID()}`;

  const keyOf = (role: Role) => ({ admin: admin.apiKey, supervisor: supervisor.apiKey, agent: ana.apiKey, integration: dialler.apiKey })[role];

  const createUser = async (name: string, role: Role): Promise<User> => {
    const body = ok(await send('admin', admin.apiKey, 'post', '/api/users', { name, role }), `create ${role}`);
    return { id: body.id, apiKey: body.apiKey, apiKeyId: body.apiKeyId };
  };
  const createContact = async (name: string, assignedAgentId: string | null, extra: Record<string, unknown> = {}): Promise<Contact> => {
    const phone = nextPhone();
    const body = ok(await send('admin', admin.apiKey, 'post', '/api/contacts', { name, phone, assignedAgentId, ...extra }), `create contact ${name}`);
    return { id: body.id, name, phone };
  };
  const note = async (contactId: string, text: string) =>
    ok(await send('admin', admin.apiKey, 'post', `/api/contacts/${contactId}/notes`, { text }), 'note').id as string;
  const followUp = async (contactId: string, scheduledAt: string, extra: Record<string, unknown> = {}) =>
    ok(await send('admin', admin.apiKey, 'post', `/api/contacts/${contactId}/follow-ups`, { scheduledAt, ...extra }), 'follow-up').id as string;
  const callBody = (contactId: string, agentId: string, extra: Record<string, unknown> = {}) => ({
    callId: `rm-${randomUUID()}`,
    contactId,
    agentId,
    direction: 'inbound',
    status: 'Called',
    durationSec: 30,
    startedAt: iso(-HOUR),
    ...extra,
  });
  const pushCall = async (contactId: string, agentId: string, extra: Record<string, unknown> = {}) => {
    const body = callBody(contactId, agentId, extra);
    const res = ok(await send('integration', dialler.apiKey, 'post', '/api/calls', body), 'push call');
    if (res.status !== 'accepted') throw new Error(`push call: ${JSON.stringify(res)}`);
    return body.callId;
  };

  // What the admin sees of the organization ----------------------------------------------------------------------------
  const adminGet = async (path: string) => {
    const res = await send('admin', admin.apiKey, 'get', path);
    if (res.status !== 200) throw new Error(`GET ${path} as admin: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  /** Users whose view and key standing the snapshot reads. */
  const knownUsers: User[] = [];

  /**
   * Everything an admin can read of the organization that a write could change (the asynchronous reports aside):
   * contacts, every contact's timeline (its event stream: any write to a contact shows there), follow-ups, calls,
   * campaigns, agents, users, settings with the secret, both agents' hubs, and which keys still work.
   */
  const snapshot = async () => {
    const contacts = await adminGet('/api/contacts?limit=200');
    const [timelines, rest, users, keys, keyLists] = await Promise.all([
      Promise.all(contacts.contacts.map((c: { id: string }) => adminGet(`/api/contacts/${c.id}/timeline?limit=200`))),
      Promise.all([
        adminGet('/api/follow-ups?limit=200'),
        adminGet('/api/calls?limit=200'),
        adminGet('/api/calls/live'),
        adminGet('/api/campaigns'),
        adminGet('/api/agents'),
        adminGet('/api/settings'),
        adminGet(`/api/follow-ups/due?limit=200&agentId=${ana.id}`),
        adminGet(`/api/follow-ups/due?limit=200&agentId=${ben.id}`),
      ]),
      Promise.all(knownUsers.map((u) => adminGet(`/api/users/${u.id}`))),
      Promise.all(knownUsers.map(async (u) => (await t.http().get('/api/agents').set('authorization', `Bearer ${u.apiKey}`)).status)),
      Promise.all(knownUsers.map((u) => adminGet(`/api/users/${u.id}/api-keys`))),
    ]);
    return { contacts, timelines, rest, users, keys, keyLists };
  };

  /** What the admin sees of Ben's and the unassigned contact's records. */
  const othersState = async () =>
    Promise.all([
      ...[benLead, benLead2, unassigned].flatMap((c) => [
        adminGet(`/api/contacts/${c.id}`),
        adminGet(`/api/contacts/${c.id}/timeline?limit=200`),
        adminGet(`/api/contacts/${c.id}/follow-ups?limit=200`),
        adminGet(`/api/contacts/${c.id}/calls?limit=200`),
      ]),
      adminGet(`/api/follow-ups/due?limit=200&agentId=${ben.id}`),
    ]);

  beforeAll(async () => {
    t = await startTestApp();
    const res = await t.http().get('/api/docs-json');
    expect(res.status).toBe(200);
    const doc = res.body as OpenApiDocument;
    labels = Object.entries(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`));

    const org = await t.createOrg('Role matrix org');
    admin = { id: org.adminUserId, apiKey: org.adminKey };
    supervisor = await createUser('Sue Supervisor', 'supervisor');
    ana = await createUser('Ana Agent', 'agent');
    ben = await createUser('Ben Agent', 'agent');
    dialler = await createUser('Dialler', 'integration');
    ivy = await createUser('Ivy Inactive', 'agent');
    rex = await createUser('Rex Revoked', 'agent');
    sam = await createUser('Sam Spare', 'agent');
    knownUsers.push(supervisor, ana, ben, dialler, ivy, rex, sam);
    ok(await send('admin', admin.apiKey, 'patch', `/api/users/${ivy.id}`, { active: false }), 'deactivate');
    ok(await send('admin', admin.apiKey, 'delete', `/api/api-keys/${rex.apiKeyId}`), 'revoke');
    // The settings exist (the first read makes them) before anything compares them.
    await adminGet('/api/settings');

    campaignId = ok(await send('admin', admin.apiKey, 'post', '/api/campaigns', { name: 'Spring', agentPool: [ana.id, ben.id] }), 'campaign').id;
    anaLead = await createContact(`Olivia Anasclient ${randomUUID().slice(0, 8)}`, ana.id, { leadQuality: 'HOT', tags: ['ana-tag'], campaignId });
    anaHubLead = await createContact(`Peter Anasclient ${randomUUID().slice(0, 8)}`, ana.id);
    matrixLead = await createContact(`Quinn Anasclient ${randomUUID().slice(0, 8)}`, ana.id);
    benLead = await createContact(`Bertha Confidential ${randomUUID().slice(0, 8)}`, ben.id, { leadQuality: 'HOT', tags: ['ben-tag'], campaignId });
    benLead2 = await createContact(`Boris Confidential ${randomUUID().slice(0, 8)}`, ben.id, { tags: ['ben-tag'] });
    unassigned = await createContact(`Uma Nobodys ${randomUUID().slice(0, 8)}`, null, { tags: ['ben-tag'], campaignId });

    // Calls first (inbound): a final outbound call would end a queued follow-up's attempt (SPEC §5).
    ids.anaCall = await pushCall(anaLead.id, ana.id);
    ids.benCall = await pushCall(benLead.id, ben.id, { note: 'Ben call note' });
    ids.benCall2 = await pushCall(benLead2.id, ben.id);
    ids.unassignedCall = await pushCall(unassigned.id, ben.id);
    ids.benLiveCall = await pushCall(benLead.id, ben.id, { status: 'In-progress', durationSec: 0, startedAt: iso(-60_000) });

    ids.anaNote = await note(anaLead.id, 'Ana note');
    ids.benNote = await note(benLead.id, benNoteText);
    ids.benNote2 = await note(benLead2.id, 'Ben second note');
    ids.unassignedNote = await note(unassigned.id, 'Nobody note');

    ids.anaFollowUp = await followUp(anaLead.id, iso(48 * HOUR));
    ids.anaDueFollowUp = await followUp(anaLead.id, iso(-2 * HOUR), { allowOutOfWindow: true });
    ids.anaHubDueFollowUp = await followUp(anaHubLead.id, iso(-2 * HOUR), { allowOutOfWindow: true });
    ids.benFollowUp = await followUp(benLead.id, iso(48 * HOUR));
    ids.benDueFollowUp = await followUp(benLead.id, iso(-2 * HOUR), { allowOutOfWindow: true });
    ids.benFollowUp2 = await followUp(benLead2.id, iso(50 * HOUR));
    ids.unassignedFollowUp = await followUp(unassigned.id, iso(48 * HOUR));

    // The worker queues the overdue follow-ups (then, without a dialler, they wait for their agent): the state the
    // snapshots compare is settled first.
    await eventually(async () => {
      for (const id of [ids.anaDueFollowUp, ids.anaHubDueFollowUp, ids.benDueFollowUp]) expect((await adminGet(`/api/follow-ups/${id}`)).status).toBe('queued');
    });
  });
  afterAll(async () => t?.close());

  // -------------------------------------------------------------------------------------------------------------------
  // The matrix
  // -------------------------------------------------------------------------------------------------------------------

  /** A valid request of `label` for `role`, on records that role may see; some make a fresh record to act on. */
  const requestFor = async (label: string, role: Role): Promise<{ url: string; body?: unknown }> => {
    const c = matrixLead.id;
    const fresh = () => followUp(c, iso(48 * HOUR), { notes: `for ${label} as ${role}` });
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    switch (label) {
      case 'POST /api/users':
        return { url: '/api/users', body: { name: `Made by ${role}`, role: 'agent' } };
      case 'GET /api/users/{id}':
        return { url: `/api/users/${sam.id}` };
      case 'GET /api/users/me':
        return { url: '/api/users/me' };
      case 'PATCH /api/users/{id}':
        return { url: `/api/users/${sam.id}`, body: { branch: `set by ${role}` } };
      case 'POST /api/users/{id}/api-keys':
        return { url: `/api/users/${sam.id}/api-keys`, body: { name: `issued by ${role}` } };
      case 'GET /api/users/{id}/api-keys':
        return { url: `/api/users/${sam.id}/api-keys` };
      case 'DELETE /api/api-keys/{id}': {
        const victim = await createUser(`Victim of ${role}`, 'agent');
        knownUsers.push(victim);
        return { url: `/api/api-keys/${victim.apiKeyId}` };
      }
      case 'GET /api/agents':
        return { url: '/api/agents' };
      case 'POST /api/contacts':
        return { url: '/api/contacts', body: { name: `Made by ${role}`, phone: nextPhone(), assignedAgentId: ana.id, campaignId } };
      case 'GET /api/contacts':
        return { url: '/api/contacts?limit=200' };
      case 'GET /api/contacts/{id}':
        return { url: `/api/contacts/${c}` };
      case 'PATCH /api/contacts/{id}':
        return { url: `/api/contacts/${c}`, body: { tags: [`set-by-${role}`], leadQuality: 'COLD' } };
      case 'POST /api/contacts/{id}/notes':
        return { url: `/api/contacts/${c}/notes`, body: { text: `note by ${role}` } };
      case 'GET /api/contacts/{id}/timeline':
        return { url: `/api/contacts/${c}/timeline` };
      case 'GET /api/contacts/{id}/calls':
        return { url: `/api/contacts/${c}/calls` };
      case 'POST /api/contacts/{id}/follow-ups':
        return { url: `/api/contacts/${c}/follow-ups`, body: { scheduledAt: iso(48 * HOUR), notes: `by ${role}` } };
      case 'GET /api/contacts/{id}/follow-ups':
        return { url: `/api/contacts/${c}/follow-ups` };
      case 'POST /api/campaigns':
        return { url: '/api/campaigns', body: { name: `Campaign of ${role}` } };
      case 'GET /api/campaigns':
        return { url: '/api/campaigns' };
      case 'POST /api/calls':
        return { url: '/api/calls', body: callBody(c, ana.id, { direction: 'outbound' }) };
      case 'POST /api/calls/batch':
        return { url: '/api/calls/batch', body: { calls: [callBody(c, ana.id, { status: 'Busy', durationSec: 0 })] } };
      case 'GET /api/calls':
        return { url: '/api/calls?limit=200' };
      case 'GET /api/calls/live':
        return { url: '/api/calls/live' };
      case 'GET /api/settings':
        return { url: '/api/settings' };
      case 'PATCH /api/settings':
        return { url: '/api/settings', body: { snoozeDays: 4 } };
      case 'POST /api/settings/signing-secret/rotate':
        return { url: '/api/settings/signing-secret/rotate' };
      case 'GET /api/follow-ups/due':
        return { url: '/api/follow-ups/due' };
      case 'PATCH /api/follow-ups/due':
        return { url: '/api/follow-ups/due', body: { personId: c, action: 'snooze' } };
      case 'GET /api/follow-ups':
        return { url: '/api/follow-ups?limit=200' };
      case 'GET /api/follow-ups/{id}':
        return { url: `/api/follow-ups/${ids.anaFollowUp}` };
      case 'POST /api/follow-ups/{id}/snooze':
        return { url: `/api/follow-ups/${await fresh()}/snooze` };
      case 'POST /api/follow-ups/{id}/reschedule':
        return { url: `/api/follow-ups/${await fresh()}/reschedule`, body: { scheduledAt: iso(72 * HOUR) } };
      case 'POST /api/follow-ups/{id}/cancel':
        return { url: `/api/follow-ups/${await fresh()}/cancel`, body: { reason: `by ${role}` } };
      case 'POST /api/follow-ups/{id}/complete':
        return { url: `/api/follow-ups/${await fresh()}/complete` };
      case 'GET /api/reports/calls':
        return { url: `/api/reports/calls?from=${yesterday}&to=${today}` };
      case 'GET /api/reports/follow-ups':
        return { url: '/api/reports/follow-ups' };
      default:
        throw new Error(`no request for ${label}: add it to requestFor and MATRIX`);
    }
  };

  const methodOf = (label: string) => label.split(' ')[0].toLowerCase() as Method;

  /** The error shape of SPEC §9. */
  const isErrorShape = (res: Response, status: number) =>
    res.body?.statusCode === status && typeof res.body.error === 'string' && typeof res.body.message === 'string';

  it('should have every operation of the OpenAPI document in the role matrix, and no other', () => {
    expect([...labels].sort()).toEqual(Object.keys(MATRIX).sort());
    expect(labels.length).toBeGreaterThanOrEqual(30);
  });

  it('should answer 401 to every operation without a key, with a malformed one, a revoked one or a deactivated user\'s, and change nothing', async () => {
    // The API deletes no user: deactivating one (PATCH /api/users/{id}) and revoking a key are how a key stops working.
    const badAuth: [string, string | undefined][] = [
      ['no key', undefined],
      ['an empty bearer', 'Bearer '],
      ['an unknown key', `Bearer fk_${randomUUID().replace(/-/g, '')}`],
      ["the admin's key with a character more", `Bearer ${admin.apiKey}x`],
      ["the admin's key under another scheme", `Basic ${admin.apiKey}`],
      ["the admin's key twice", `Bearer ${admin.apiKey} ${admin.apiKey}`],
      ['a revoked key', `Bearer ${rex.apiKey}`],
      ["a deactivated user's key", `Bearer ${ivy.apiKey}`],
    ];
    const requests = [];
    for (const label of labels) requests.push({ label, ...(await requestFor(label, 'admin')) });
    const before = await snapshot();
    const problems: string[] = [];
    for (const { label, url, body } of requests) {
      for (const [what, authorization] of badAuth) {
        const res = await send(what, null, methodOf(label), url, body, authorization);
        if (res.status !== 401 || !isErrorShape(res, 401)) problems.push(`${label} with ${what} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      }
    }
    expect(problems).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it('should answer each role as the matrix says, and change nothing on a refused write', async () => {
    const problems: string[] = [];
    for (const label of labels) {
      const expected = MATRIX[label];
      if (!expected) continue; // the first test names it
      const method = methodOf(label);
      // Refused roles first, on the state the allowed ones have not changed yet.
      const order = [...ROLES].sort((a, b) => Number(expected[a] < 400) - Number(expected[b] < 400));
      for (const role of order) {
        const { url, body } = await requestFor(label, role);
        const refusedWrite = method !== 'get' && expected[role] >= 400;
        const before = refusedWrite ? await snapshot() : undefined;
        const res = await send(role, keyOf(role), method, url, body);
        const seenAs = `${label} as ${role} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`;
        if (res.status !== expected[role]) problems.push(`${seenAs}, not ${expected[role]}`);
        else if (res.status >= 400 && !isErrorShape(res, res.status)) problems.push(`${seenAs}: not the error shape`);
        else if (label === 'POST /api/calls/batch' && res.status === 200 && res.body.results?.[0]?.status !== 'accepted') problems.push(`${seenAs}: the item was not accepted`);
        if (before) {
          const after = await snapshot();
          try {
            expect(after).toEqual(before);
          } catch (err) {
            problems.push(`${label} as ${role} (refused) changed the organization's records: ${(err as Error).message.slice(0, 1500)}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('should answer a HEAD of every GET with the status of that GET, for each role and without a key', async () => {
    const problems: string[] = [];
    for (const label of labels.filter((l) => methodOf(l) === 'get')) {
      const { url } = await requestFor(label, 'admin');
      for (const [who, key] of [['no key', null], ...ROLES.map((r) => [r, keyOf(r)])] as [string, string | null][]) {
        const head = await send(who, key, 'head', url);
        const expected = key === null ? 401 : MATRIX[label]?.[who as Role];
        if (head.status !== expected) problems.push(`HEAD ${label} as ${who} → ${head.status}, not ${expected}`);
      }
    }
    // An agent's HEAD of Ben's contact is the 404 of its GET, not a 200 telling it exists.
    const benHead = await send('agent', ana.apiKey, 'head', `/api/contacts/${benLead.id}`);
    if (benHead.status !== 404) problems.push(`HEAD of Ben's contact as Ana → ${benHead.status}`);
    expect(problems).toEqual([]);
  });

  // -------------------------------------------------------------------------------------------------------------------
  // What an agent sees
  // -------------------------------------------------------------------------------------------------------------------

  /** What identifies Ben's and the unassigned contact's records; none of it may reach Ana. */
  const othersMarkers = (): Record<string, string> => ({
    "Ben's contact id": benLead.id,
    "Ben's contact name": benLead.name,
    "Ben's contact phone": benLead.phone,
    "Ben's 2nd contact id": benLead2.id,
    "Ben's 2nd contact name": benLead2.name,
    "Ben's 2nd contact phone": benLead2.phone,
    'unassigned contact id': unassigned.id,
    'unassigned contact name': unassigned.name,
    'unassigned contact phone': unassigned.phone,
    "Ben's follow-up": ids.benFollowUp,
    "Ben's due follow-up": ids.benDueFollowUp,
    "Ben's 2nd follow-up": ids.benFollowUp2,
    "the unassigned contact's follow-up": ids.unassignedFollowUp,
    "Ben's note id": ids.benNote,
    "Ben's note text": benNoteText,
    "Ben's 2nd note": ids.benNote2,
    "the unassigned contact's note": ids.unassignedNote,
    "Ben's call": ids.benCall,
    "Ben's 2nd call": ids.benCall2,
    "Ben's live call": ids.benLiveCall,
    "the unassigned contact's call": ids.unassignedCall,
  });
  const anaMarkers = (): Record<string, string> => ({
    "Ana's contact": anaLead.id,
    "Ana's follow-up": ids.anaFollowUp,
    "Ana's due follow-up": ids.anaDueFollowUp,
    "Ana's note": ids.anaNote,
    "Ana's call": ids.anaCall,
  });
  /** Markers in an answer, bar those the request itself sent. */
  const found = (res: Response, markers: Record<string, string>, sent = '') => {
    const text = JSON.stringify(res.body ?? null) + (res.text ?? '');
    return Object.entries(markers)
      .filter(([, v]) => text.includes(v) && !sent.includes(v))
      .map(([k]) => k);
  };

  describe("an agent's reads list none of another agent's contacts, follow-ups, calls or notes", () => {
    /** Ana's reads: plain, with filters naming Ben's records, with cursors, and with expansions no operation has. */
    const readsOfAna = () => {
      const epoch = craftCursor('1970-01-01T00:00:00.000Z', '00000000-0000-0000-0000-000000000000');
      const farFuture = craftCursor('9000-01-01T00:00:00.000Z', 'ffffffff-ffff-ffff-ffff-ffffffffffff');
      return [
        '/api/contacts?limit=200',
        `/api/contacts?limit=200&assignedAgentId=${ben.id}`,
        `/api/contacts?limit=200&q=${encodeURIComponent('Confidential')}`,
        `/api/contacts?limit=200&q=${encodeURIComponent(benLead.phone)}`,
        '/api/contacts?limit=200&tag=ben-tag',
        `/api/contacts?limit=200&campaignId=${campaignId}`,
        '/api/contacts?limit=200&leadQuality=HOT',
        `/api/contacts?limit=200&cursor=${epoch}`,
        '/api/follow-ups?limit=200',
        `/api/follow-ups?limit=200&contactId=${benLead.id}`,
        `/api/follow-ups?limit=200&contactId=${unassigned.id}`,
        `/api/follow-ups?limit=200&agentId=${ben.id}`,
        '/api/follow-ups?limit=200&status=queued',
        `/api/follow-ups?limit=200&cursor=${farFuture}`,
        '/api/calls?limit=200',
        `/api/calls?limit=200&contactId=${benLead.id}`,
        `/api/calls?limit=200&contactId=${unassigned.id}`,
        `/api/calls?limit=200&agentId=${ben.id}`,
        `/api/calls?limit=200&campaignId=${campaignId}`,
        `/api/calls?limit=200&cursor=${craftCursor('9000-01-01T00:00:00.000Z', 'zzzz')}`,
        '/api/calls/live',
        `/api/contacts/${anaLead.id}/timeline?limit=200`,
        `/api/contacts/${anaLead.id}/calls?limit=200`,
        `/api/contacts/${anaLead.id}/follow-ups?limit=200`,
        '/api/follow-ups/due?limit=200',
        '/api/follow-ups/due?limit=200&filter=hot',
        '/api/follow-ups/due?limit=200&filter=overdue',
        '/api/follow-ups/due?limit=200&filter=today',
        `/api/reports/calls?from=${new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)}&to=${new Date().toISOString().slice(0, 10)}&groupBy=agent`,
        '/api/reports/follow-ups',
        // No operation documents an expansion; one sent anyway must not open anything up.
        '/api/contacts?limit=200&include=followUps,calls,notes&expand=all',
        `/api/contacts/${anaLead.id}?include=contact,agent&expand=all`,
        '/api/follow-ups?limit=200&include=contact&expand=contact',
      ];
    };

    it("should list none of Ben's or the unassigned contact's records to Ana, whatever the filter, while Ana's own show", async () => {
      const problems: string[] = [];
      let anaSees = 0;
      for (const url of readsOfAna()) {
        const res = await send('agent', ana.apiKey, 'get', url);
        if (res.status >= 500) problems.push(`${url} → ${res.status}`);
        const leaks = found(res, othersMarkers(), url);
        if (leaks.length) problems.push(`${url} → ${res.status} shows ${leaks.join(', ')}`);
        if (found(res, anaMarkers()).length) anaSees++;
      }
      expect(problems).toEqual([]);
      // The check above can fail: Ana's own records are in most of these answers.
      expect(anaSees).toBeGreaterThanOrEqual(12);
    });

    it('should show those very records to Ben and the admin (so the check above can fail)', async () => {
      for (const [who, key] of [
        ['agent', ben.apiKey],
        ['admin', admin.apiKey],
      ]) {
        const texts = await Promise.all(['/api/contacts?limit=200', '/api/follow-ups?limit=200', '/api/calls?limit=200'].map((u) => send(who, key, 'get', u)));
        const timeline = await send(who, key, 'get', `/api/contacts/${benLead.id}/timeline?limit=200`);
        const shown = new Set([...texts, timeline].flatMap((r) => found(r, othersMarkers())));
        expect([...shown].filter((k) => k.startsWith("Ben's contact"))).toHaveLength(3);
        expect(shown.has("Ben's due follow-up")).toBe(true);
        expect(shown.has("Ben's call")).toBe(true);
        expect(shown.has("Ben's note text")).toBe(true);
      }
    });

    it("should answer 404 to Ana for each of Ben's and the unassigned contact's records by id, showing nothing of them", async () => {
      const urls = [benLead, unassigned].flatMap((c) => [
        `/api/contacts/${c.id}`,
        `/api/contacts/${c.id}/timeline`,
        `/api/contacts/${c.id}/timeline?cursor=1000`,
        `/api/contacts/${c.id}/calls`,
        `/api/contacts/${c.id}/follow-ups`,
      ]);
      // A note is a record of the follow-ups' family too (SPEC §2): never one of Ben's by its id either.
      urls.push(`/api/follow-ups/${ids.benFollowUp}`, `/api/follow-ups/${ids.benDueFollowUp}`, `/api/follow-ups/${ids.unassignedFollowUp}`, `/api/follow-ups/${ids.benNote}`);
      const problems: string[] = [];
      for (const url of urls) {
        const res = await send('agent', ana.apiKey, 'get', url);
        if (res.status !== 404 || !isErrorShape(res, 404)) problems.push(`${url} → ${res.status}`);
        const leaks = found(res, othersMarkers(), url);
        if (leaks.length) problems.push(`${url} shows ${leaks.join(', ')}`);
      }
      expect(problems).toEqual([]);
    });

    it("should give Ana nothing of Ben's through a cursor from Ben's own pages", async () => {
      const problems: string[] = [];
      for (const list of ['/api/contacts', '/api/follow-ups', '/api/calls']) {
        const bens = await send('agent', ben.apiKey, 'get', `${list}?limit=1`);
        expect(bens.status).toBe(200);
        const cursor = bens.body.nextCursor;
        expect(typeof cursor).toBe('string');
        // Ben's next page, as Ben sees it, does hold Ben's records.
        expect(found(await send('agent', ben.apiKey, 'get', `${list}?limit=200&cursor=${cursor}`), othersMarkers()).length).toBeGreaterThan(0);
        const res = await send('agent', ana.apiKey, 'get', `${list}?limit=200&cursor=${cursor}`);
        if (res.status >= 500) problems.push(`${list} with Ben's cursor → ${res.status}`);
        const leaks = found(res, othersMarkers());
        if (leaks.length) problems.push(`${list} with Ben's cursor → ${res.status} shows ${leaks.join(', ')}`);
      }
      // The timeline's cursor is a position in one contact's history: Ben's contact's stays Ben's.
      const benTimeline = await send('agent', ben.apiKey, 'get', `/api/contacts/${benLead.id}/timeline?limit=1`);
      expect(typeof benTimeline.body.nextCursor).toBe('string');
      const res = await send('agent', ana.apiKey, 'get', `/api/contacts/${benLead.id}/timeline?limit=200&cursor=${benTimeline.body.nextCursor}`);
      expect(res.status).toBe(404);
      expect(found(res, othersMarkers(), benLead.id)).toEqual([]);
      expect(problems).toEqual([]);
    });
  });

  // -------------------------------------------------------------------------------------------------------------------
  // What an agent changes
  // -------------------------------------------------------------------------------------------------------------------

  describe("an agent's writes to another agent's contact change nothing", () => {
    const refused: [string, Method, () => string, () => unknown, number][] = [
      ["a note on Ben's contact", 'post', () => `/api/contacts/${benLead.id}/notes`, () => ({ text: 'written by Ana' }), 404],
      ['a note on the unassigned contact', 'post', () => `/api/contacts/${unassigned.id}/notes`, () => ({ text: 'written by Ana' }), 404],
      ["a follow-up on Ben's contact", 'post', () => `/api/contacts/${benLead.id}/follow-ups`, () => ({ scheduledAt: iso(HOUR), agentId: ana.id }), 404],
      ["a PATCH of Ben's contact", 'patch', () => `/api/contacts/${benLead.id}`, () => ({ name: 'Renamed by Ana', leadQuality: 'COLD' }), 404],
      ["a PATCH taking Ben's contact", 'patch', () => `/api/contacts/${benLead.id}`, () => ({ assignedAgentId: ana.id }), 404],
      ['a PATCH taking the unassigned contact', 'patch', () => `/api/contacts/${unassigned.id}`, () => ({ assignedAgentId: ana.id }), 404],
      // The code's intent where SPEC is silent: an agent cannot hand a contact over (403, update-contact.handler.ts).
      ['a PATCH handing her contact to Ben', 'patch', () => `/api/contacts/${anaLead.id}`, () => ({ assignedAgentId: ben.id }), 403],
      ['a PATCH unassigning her contact', 'patch', () => `/api/contacts/${anaLead.id}`, () => ({ assignedAgentId: null }), 403],
      // create-contact.handler.ts: an agent creates contacts for herself only.
      ['a contact created for Ben', 'post', () => '/api/contacts', () => ({ name: 'For Ben', phone: nextPhone(), assignedAgentId: ben.id }), 403],
      ...(['snooze', 'cancel', 'complete'] as const).map(
        (action): [string, Method, () => string, () => unknown, number] => [`a ${action} of Ben's follow-up`, 'post', () => `/api/follow-ups/${ids.benDueFollowUp}/${action}`, () => undefined, 404],
      ),
      ["a reschedule of Ben's follow-up", 'post', () => `/api/follow-ups/${ids.benFollowUp}/reschedule`, () => ({ scheduledAt: iso(-HOUR) }), 404],
      ["a cancel of the unassigned contact's follow-up", 'post', () => `/api/follow-ups/${ids.unassignedFollowUp}/cancel`, () => ({}), 404],
      ["a hub done on Ben's contact", 'patch', () => '/api/follow-ups/due', () => ({ personId: benLead.id, action: 'done' }), 404],
      ["a hub snooze of Ben's and the unassigned contact", 'patch', () => '/api/follow-ups/due', () => ({ personIds: [benLead.id, benLead2.id, unassigned.id], action: 'snooze' }), 404],
      ["a call pushed for Ben's contact", 'post', () => '/api/calls', () => callBody(benLead.id, ana.id, { direction: 'outbound', durationSec: 60 }), 404],
      ['a call pushed for the unassigned contact', 'post', () => '/api/calls', () => callBody(unassigned.id, ana.id, { direction: 'outbound' }), 404],
      // call-ingest.ts: an agent logs her own calls only.
      ['a call of Ben pushed on her contact', 'post', () => '/api/calls', () => callBody(anaLead.id, ben.id, { direction: 'outbound' }), 403],
    ];

    it.each(refused.map((r) => [r[0], r] as const))('should refuse %s as SPEC says and leave every record as it was', async (_, [, method, url, body, status]) => {
      const before = await snapshot();
      const res = await send('agent', ana.apiKey, method, url(), body());
      expect({ status: res.status, shape: isErrorShape(res, status) }).toEqual({ status, shape: true });
      expect(found(res, othersMarkers(), url() + JSON.stringify(body() ?? null))).toEqual([]);
      expect(await snapshot()).toEqual(before);
    });

    it("should reject, in a batch, the item for Ben's contact and the item naming Ben as caller, and record none of them", async () => {
      const before = await othersState();
      const calls = [callBody(benLead.id, ana.id), callBody(unassigned.id, ana.id), callBody(anaLead.id, ben.id)];
      const res = await send('agent', ana.apiKey, 'post', '/api/calls/batch', { calls });
      expect(res.status).toBe(200);
      expect(res.body.results.map((r: { status: string; statusCode: number }) => [r.status, r.statusCode])).toEqual([
        ['rejected', 404],
        ['rejected', 404],
        ['rejected', 403],
      ]);
      expect(await othersState()).toEqual(before);
      const anaCalls = await adminGet(`/api/contacts/${anaLead.id}/calls?limit=200`);
      expect(anaCalls.calls.map((c: { callId: string }) => c.callId)).not.toContain(calls[2].callId);
    });

    it("should act on Ana's own contact alone when a hub PATCH mixes hers with Ben's", async () => {
      const before = await othersState();
      const res = await send('agent', ana.apiKey, 'patch', '/api/follow-ups/due', { personIds: [benLead.id, anaHubLead.id, unassigned.id], action: 'done' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true, count: 1, action: 'done' });
      expect(await othersState()).toEqual(before);
      expect((await adminGet(`/api/follow-ups/${ids.anaHubDueFollowUp}`)).status).toBe('completed');
      expect((await adminGet(`/api/follow-ups/${ids.benDueFollowUp}`)).status).toBe('queued');
    });

    it("should not end Ben's follow-up through a call Ana pushes on her contact naming it: a 400 naming followUpId", async () => {
      const before = await othersState();
      const res = await send('agent', ana.apiKey, 'post', '/api/calls', callBody(anaLead.id, ana.id, { direction: 'outbound', status: 'Busy', durationSec: 0, followUpId: ids.benDueFollowUp }));
      expect(res.status).toBe(400);
      expect(fieldsNamed(res)).toEqual(['followUpId']);
      expect(await othersState()).toEqual(before);
    });
  });

  // -------------------------------------------------------------------------------------------------------------------
  // The hub's agentId
  // -------------------------------------------------------------------------------------------------------------------

  describe("the hub's agentId (SPEC §6)", () => {
    const hubOf = (res: Response) => res.body.followUps.map((f: { contactId: string }) => f.contactId);

    it("should show a supervisor and an admin Ben's hub, and each their own without it", async () => {
      for (const [who, key] of [
        ['supervisor', supervisor.apiKey],
        ['admin', admin.apiKey],
      ]) {
        const res = await send(who, key, 'get', `/api/follow-ups/due?limit=200&agentId=${ben.id}`);
        expect(res.status).toBe(200);
        expect(hubOf(res)).toEqual([benLead.id]);
        expect(res.body.counts).toEqual({ all: 1, overdue: expect.any(Number), today: expect.any(Number), hot: 1 });
        const own = await send(who, key, 'get', '/api/follow-ups/due?limit=200');
        expect(own.status).toBe(200);
        expect(hubOf(own)).toEqual([]);
      }
      const anas = await send('supervisor', supervisor.apiKey, 'get', `/api/follow-ups/due?limit=200&agentId=${ana.id}`);
      expect(hubOf(anas)).toEqual([anaLead.id]);
    });

    it.each([
      ["Ben's", () => ben.id],
      ['her own', () => ana.id],
      ["the supervisor's", () => supervisor.id],
    ])("should answer 403 when an agent sends %s agentId, showing nothing", async (_, agentId) => {
      const url = `/api/follow-ups/due?limit=200&agentId=${agentId()}`;
      const res = await send('agent', ana.apiKey, 'get', url);
      expect({ status: res.status, shape: isErrorShape(res, 403) }).toEqual({ status: 403, shape: true });
      expect(found(res, othersMarkers(), url)).toEqual([]);
      expect(found(res, anaMarkers())).toEqual([]);
    });

    it("should answer 403 when an integration asks for Ben's hub", async () => {
      const res = await send('integration', dialler.apiKey, 'get', `/api/follow-ups/due?limit=200&agentId=${ben.id}`);
      expect(res.status).toBe(403);
      expect(found(res, othersMarkers())).toEqual([]);
    });

    it("should drop Ben's contact from a supervisor's hub PATCH (not the supervisor's): 404, nothing changed", async () => {
      const before = await snapshot();
      const res = await send('supervisor', supervisor.apiKey, 'patch', '/api/follow-ups/due', { personIds: [benLead.id], action: 'done' });
      expect(res.status).toBe(404);
      expect(await snapshot()).toEqual(before);
    });
  });

  // -------------------------------------------------------------------------------------------------------------------
  // Integration keys
  // -------------------------------------------------------------------------------------------------------------------

  describe('an integration key (SPEC §9)', () => {
    it('should push calls for any contact of its org, assigned to anyone or no one, singly and in a batch', async () => {
      const contacts = [anaLead, benLead, unassigned];
      const single = await Promise.all(contacts.map(async (c, i) => {
        const body = callBody(c.id, i === 0 ? ana.id : ben.id, { status: 'No Answer', durationSec: 0 });
        const res = await send('integration', dialler.apiKey, 'post', '/api/calls', body);
        expect({ status: res.status, result: res.body.status }).toEqual({ status: 201, result: 'accepted' });
        return body.callId;
      }));
      const batch = contacts.map((c, i) => callBody(c.id, i === 0 ? ana.id : ben.id, { status: 'Missed', durationSec: 0 }));
      const res = await send('integration', dialler.apiKey, 'post', '/api/calls/batch', { calls: batch });
      expect(res.status).toBe(200);
      expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'accepted', 'accepted']);
      for (const [i, c] of contacts.entries()) {
        const calls = (await adminGet(`/api/contacts/${c.id}/calls?limit=200`)).calls.map((x: { callId: string }) => x.callId);
        expect(calls).toEqual(expect.arrayContaining([single[i], batch[i].callId]));
      }
    });

    it("should not reach any contact's records through the reads SPEC leaves it, nor reassign a contact", async () => {
      const problems: string[] = [];
      const anyContact = { ...othersMarkers(), ...anaMarkers(), "Ana's contact name": anaLead.name };
      for (const url of ['/api/agents', '/api/campaigns', '/api/settings']) {
        const res = await send('integration', dialler.apiKey, 'get', url);
        if (res.status !== 200) problems.push(`${url} → ${res.status}`);
        const leaks = found(res, anyContact);
        if (leaks.length) problems.push(`${url} shows ${leaks.join(', ')}`);
      }
      for (const url of [`/api/contacts/${benLead.id}`, `/api/contacts?limit=200&q=${encodeURIComponent('Confidential')}`, `/api/follow-ups/${ids.benFollowUp}`, `/api/contacts/${benLead.id}/timeline`]) {
        const res = await send('integration', dialler.apiKey, 'get', url);
        if (res.status !== 403) problems.push(`${url} → ${res.status}`);
        const leaks = found(res, anyContact, url);
        if (leaks.length) problems.push(`${url} shows ${leaks.join(', ')}`);
      }
      expect(problems).toEqual([]);
      const before = await snapshot();
      const res = await send('integration', dialler.apiKey, 'patch', `/api/contacts/${benLead.id}`, { assignedAgentId: ana.id });
      expect(res.status).toBe(403);
      expect(await snapshot()).toEqual(before);
    });
  });

  // -------------------------------------------------------------------------------------------------------------------
  // Routes without a key
  // -------------------------------------------------------------------------------------------------------------------

  it('should show a caller without a key nothing of the organization on the public routes (health, metrics, docs)', async () => {
    const markers = {
      ...othersMarkers(),
      ...anaMarkers(),
      "Ana's contact name": anaLead.name,
      'admin id': admin.id,
      'agent id': ana.id,
      "the dialler's id": dialler.id,
      campaignId,
    };
    const problems: string[] = [];
    for (const url of ['/health/live', '/health/ready', '/metrics', '/api/docs-json', '/api/docs']) {
      const res = await send('anonymous', null, 'get', url);
      if (res.status !== 200) problems.push(`${url} → ${res.status}`);
      const leaks = found(res, markers);
      if (leaks.length) problems.push(`${url} shows ${leaks.join(', ')}`);
    }
    expect(problems).toEqual([]);
  });

  // -------------------------------------------------------------------------------------------------------------------
  // The signing secret, last: over every answer this file received
  // -------------------------------------------------------------------------------------------------------------------

  describe('the signing secret (SPEC §7)', () => {
    it('should be in no answer to anyone but an admin, over every answer this file received', async () => {
      // Every secret the organization has had (the matrix rotated it), as its admin saw them.
      const secrets = new Set<string>();
      const settings = await send('admin', admin.apiKey, 'get', '/api/settings');
      expect(settings.body.signingSecret).toMatch(/^whsec_/);
      for (const s of seen.filter((x) => x.who === 'admin')) for (const m of s.text.matchAll(/whsec_[A-Za-z0-9+/=_-]+/g)) secrets.add(m[0]);
      expect(secrets.size).toBeGreaterThanOrEqual(2);

      const others = seen.filter((s) => s.who !== 'admin');
      // The secret itself (with or without its prefix), or a signingSecret field of any value (not the name of the
      // event SigningSecretRotated, which /metrics counts).
      // The OpenAPI document, public, names the field (admins get it) and holds no value of it.
      const leaks = others.filter(
        (s) => s.text.includes('whsec_') || (/"signingSecret"/.test(s.text) && !s.req.endsWith('/api/docs-json')) || [...secrets].some((x) => s.text.includes(x.slice(6))),
      );
      expect(leaks.map((s) => `${s.who} ${s.req} → ${s.status}`)).toEqual([]);
      // Every role read the settings on the way, and got them.
      for (const who of ['supervisor', 'agent', 'integration']) expect(others.some((s) => s.who === who && s.req === 'GET /api/settings' && s.status === 200)).toBe(true);
    });
  });
});
