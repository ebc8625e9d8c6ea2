import { randomUUID } from 'node:crypto';
import { Response } from 'supertest';
import { bearer, startTestApp, TestApp } from '@app/testing';

/**
 * The OpenAPI document (SPEC §9) tells the truth about answers: every operation under /api documents the body of its
 * success and its errors, and what the API really answers has exactly the keys the documented schema has, no key
 * left undocumented and no required one missing. Generated clients are typed from these schemas.
 */

jest.setTimeout(60_000);

// ---------------------------------------------------------------------------------------------------------------------
// The OpenAPI document, as far as this test reads it
// ---------------------------------------------------------------------------------------------------------------------

interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  nullable?: boolean;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
}

interface DocResponse {
  description?: string;
  content?: Record<string, { schema?: Schema }>;
}

interface DocOperation {
  parameters?: { name: string; in: 'path' | 'query' | 'header' | 'cookie' }[];
  requestBody?: unknown;
  security?: Record<string, string[]>[];
  responses?: Record<string, DocResponse>;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, DocOperation>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, { bearerFormat?: string; description?: string }> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const ERROR_SCHEMA = '#/components/schemas/ErrorResponseDto';

/** A schema with its $ref and allOf resolved (Nest writes a documented or nullable $ref as allOf: [{ $ref }]). */
function resolve(doc: OpenApiDocument, schema: Schema): Schema {
  if (schema.$ref) {
    const target = doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')];
    if (!target) throw new Error(`unresolvable $ref ${schema.$ref}`);
    const { $ref: _, ...rest } = schema;
    return { ...resolve(doc, target), ...rest };
  }
  if (schema.allOf) {
    const { allOf, ...rest } = schema;
    const parts = allOf.map((s) => resolve(doc, s));
    const merged: Schema = Object.assign({}, ...parts, rest);
    if (parts.some((p) => p.properties)) merged.properties = Object.assign({}, ...parts.map((p) => p.properties ?? {}));
    if (parts.some((p) => p.required)) merged.required = [...new Set(parts.flatMap((p) => p.required ?? []))];
    if (merged.properties && merged.type !== 'object') merged.type = 'object';
    return merged;
  }
  return schema;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Where `value` departs from `schema`, one line per problem naming its JSON path (none: it conforms). An object must
 * have every required key and no key its schema does not document (unless it says additionalProperties); null only
 * where nullable; every value of the documented type, format and enum; arrays item by item.
 */
function departures(doc: OpenApiDocument, value: unknown, raw: Schema, path = '$'): string[] {
  const schema = resolve(doc, raw);
  if (value === null) return schema.nullable ? [] : [`${path}: null, but not documented as nullable`];
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives) {
    return alternatives.some((s) => departures(doc, value, s, path).length === 0) ? [] : [`${path}: ${JSON.stringify(value)} matches none of its alternatives`];
  }
  if (schema.enum && !schema.enum.includes(value)) return [`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`];
  const type = schema.type ?? (schema.properties ? 'object' : undefined);
  switch (type) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: not an object`];
      if (!schema.properties) return schema.additionalProperties ? [] : [`${path}: an object whose schema documents no properties`];
      const problems = (schema.required ?? []).filter((k) => !(k in value)).map((k) => `${path}.${k}: required, but missing`);
      for (const [k, v] of Object.entries(value)) {
        const property = schema.properties[k];
        if (property) problems.push(...departures(doc, v, property, `${path}.${k}`));
        else if (!schema.additionalProperties) problems.push(`${path}.${k}: answered, but not documented`);
      }
      return problems;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${path}: not an array`];
      return value.flatMap((v, i) => departures(doc, v, schema.items ?? {}, `${path}[${i}]`));
    case 'string':
      if (typeof value !== 'string') return [`${path}: ${JSON.stringify(value)} is not a string`];
      if (schema.format === 'date-time' && !ISO_INSTANT.test(value)) return [`${path}: ${value} is not an ISO-8601 instant`];
      if (schema.format === 'uuid' && !UUID.test(value)) return [`${path}: ${value} is not a UUID`];
      if (schema.format === 'date' && !DAY.test(value)) return [`${path}: ${value} is not a date`];
      return [];
    case 'integer':
      return Number.isInteger(value) ? [] : [`${path}: ${JSON.stringify(value)} is not an integer`];
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? [] : [`${path}: ${JSON.stringify(value)} is not a number`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: ${JSON.stringify(value)} is not a boolean`];
    default:
      return [`${path}: its schema documents no type`];
  }
}

/** The operations under /api: `GET /api/contacts/{id}` and its description. */
const operationsOf = (doc: OpenApiDocument) =>
  Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/api/'))
    .flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => ({ label: `${m.toUpperCase()} ${path}`, op: item[m] })));

const jsonSchemaOf = (response: DocResponse | undefined): Schema | undefined => response?.content?.['application/json']?.schema;

describe('OpenAPI document (SPEC §9)', () => {
  let t: TestApp;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    t = await startTestApp();
    const res = await t.http().get('/api/docs-json');
    expect(res.status).toBe(200);
    doc = res.body as OpenApiDocument;
  });
  afterAll(async () => t?.close());

  // -------------------------------------------------------------------------------------------------------------------
  describe('what it documents', () => {
    it('should document a schema for the success answer of every operation under /api', () => {
      const ops = operationsOf(doc);
      expect(ops.length).toBeGreaterThanOrEqual(30);
      const problems: string[] = [];
      for (const { label, op } of ops) {
        const successes = Object.entries(op.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
        if (successes.length === 0) problems.push(`${label}: no success answer`);
        for (const [status, response] of successes) {
          const schema = jsonSchemaOf(response);
          if (status === '204') {
            if (response.content) problems.push(`${label}: 204 with a body`);
          } else if (!schema) problems.push(`${label}: ${status} without a schema`);
          else {
            const resolved = resolve(doc, schema);
            if (!resolved.properties && !resolved.items && !resolved.type) problems.push(`${label}: ${status} with an empty schema`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it('should document the error body of 401 and 429 for every operation, 400 where it takes input and 404 where it names a record', () => {
      const problems: string[] = [];
      for (const { label, op } of operationsOf(doc)) {
        const params = op.parameters ?? [];
        const expected = [
          ...(op.security?.length ? ['401', '429'] : []),
          ...(op.requestBody || params.some((p) => p.in === 'query' || p.in === 'header') ? ['400'] : []),
          ...(params.some((p) => p.in === 'path') ? ['404'] : []),
        ];
        if (!op.security?.length) problems.push(`${label}: no security requirement`);
        for (const status of expected) if (!op.responses?.[status]) problems.push(`${label}: no ${status}`);
        // Every error documented carries the one error body.
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          if (/^[45]\d\d$/.test(status) && jsonSchemaOf(response)?.$ref !== ERROR_SCHEMA) problems.push(`${label}: ${status} without ${ERROR_SCHEMA}`);
        }
      }
      expect(problems).toEqual([]);
    });

    it('should describe the bearer credential as the opaque API key it is, not a JWT', () => {
      const scheme = doc.components.securitySchemes.bearer;
      expect(scheme.bearerFormat).not.toBe('JWT');
      expect(scheme.description).toMatch(/fk_/);
    });

    it('should notice a key the schema does not document, a required key missing, a null where none is allowed and a wrong type', () => {
      const schema: Schema = {
        type: 'object',
        properties: { id: { type: 'string', format: 'uuid' }, name: { type: 'string', nullable: true }, n: { type: 'integer' } },
        required: ['id', 'n'],
      };
      const ok = { id: randomUUID(), name: null, n: 1 };
      expect(departures(doc, ok, schema)).toEqual([]);
      expect(departures(doc, { ...ok, extra: 1 }, schema)).toEqual(['$.extra: answered, but not documented']);
      expect(departures(doc, { id: ok.id, name: 'x' }, schema)).toEqual(['$.n: required, but missing']);
      expect(departures(doc, { ...ok, n: null }, schema)).toEqual(['$.n: null, but not documented as nullable']);
      expect(departures(doc, { ...ok, n: 1.5, id: 'x' }, schema)).toEqual(['$.id: x is not a UUID', '$.n: 1.5 is not an integer']);
    });
  });

  // -------------------------------------------------------------------------------------------------------------------
  describe('real answers have exactly the documented shape', () => {
    /** `METHOD path status` of each answer checked (the path as the document writes it), for the last test. */
    const checked = new Set<string>();

    /**
     * The answer `res` to `method path` (the document's path, `{id}` and all) has a status the operation documents,
     * and a body with exactly the shape documented for that status; a 204 has no body.
     */
    const expectDocumented = (res: Response, method: (typeof METHODS)[number], path: string, status: number) => {
      const label = `${method.toUpperCase()} ${path}`;
      expect({ label, status: res.status, ...(res.status !== status && { body: res.body }) }).toEqual({ label, status });
      const documented = doc.paths[path]?.[method]?.responses?.[String(status)];
      if (!documented) throw new Error(`${label} answered ${status}, which its operation does not document`);
      checked.add(`${label} ${status}`);
      const schema = jsonSchemaOf(documented);
      if (status === 204) {
        expect({ label, schema, body: res.text }).toEqual({ label, schema: undefined, body: '' });
        return;
      }
      if (!schema) throw new Error(`${label} documents no schema for ${status}`);
      expect({ label, status, departures: departures(doc, res.body, schema) }).toEqual({ label, status, departures: [] });
    };

    let admin: string;
    let agent: { id: string; apiKey: string; apiKeyId: string };
    let campaignId: string;
    let contactId: string;
    let otherContactId: string;
    /** The answers that made the records every test uses, checked by the tests of their operations. */
    const made: Record<'user' | 'campaign' | 'contact' | 'otherContact', Response> = {} as never;

    const get = (url: string, key: string) => t.http().get(url).set(bearer(key));
    const post = (url: string, key: string, body?: object) => t.http().post(url).set(bearer(key)).send(body);
    const patch = (url: string, key: string, body: object) => t.http().patch(url).set(bearer(key)).send(body);
    const call = (fields: Record<string, unknown>) => ({
      callId: `call-${randomUUID()}`,
      contactId,
      agentId: agent.id,
      direction: 'outbound',
      status: 'Called',
      durationSec: 42,
      startedAt: new Date(Date.now() - 60_000).toISOString(),
      ...fields,
    });

    /** `res`, which must have `status` for the tests to go on. */
    const expectMade = (res: Response, status: number): Response => {
      if (res.status !== status) throw new Error(`${res.status} instead of ${status}: ${JSON.stringify(res.body)}`);
      return res;
    };

    beforeAll(async () => {
      admin = (await t.createOrg('OpenAPI org')).adminKey;
      made.user = expectMade(await post('/api/users', admin, { name: 'Ana Agent', role: 'agent', branch: 'North', timezone: 'Europe/London' }), 201);
      agent = { id: made.user.body.id, apiKey: made.user.body.apiKey, apiKeyId: made.user.body.apiKeyId };
      const callingWindow = { days: ['mon', 'tue'], start: '09:00', end: '18:00' };
      made.campaign = expectMade(await post('/api/campaigns', admin, { name: 'Spring', callingWindow, agentPool: [agent.id] }), 201);
      campaignId = made.campaign.body.id;
      made.contact = expectMade(
        await post('/api/contacts', admin, {
          name: 'Sarah Lee',
          phone: '+14155550123',
          timezone: 'America/New_York',
          leadQuality: 'HOT',
          assignedAgentId: agent.id,
          tags: ['vip'],
          campaignId,
        }),
        201,
      );
      contactId = made.contact.body.id;
      // nulls too: no agent, campaign or time zone of its own
      const keyed = t.http().post('/api/contacts').set(bearer(admin)).set('idempotency-key', `crm-${randomUUID()}`);
      made.otherContact = expectMade(await keyed.send({ name: 'Tom Cole', phone: '+14155550124' }), 201);
      otherContactId = made.otherContact.body.id;
    });

    it('should answer the users and their API keys as documented', async () => {
      expectDocumented(made.user, 'post', '/api/users', 201);
      // nulls too: no email, branch, department or time zone of their own
      expectDocumented(await post('/api/users', admin, { name: 'Dee Dialler', role: 'integration' }), 'post', '/api/users', 201);

      expectDocumented(await get(`/api/users/${agent.id}`, admin), 'get', '/api/users/{id}', 200);
      expectDocumented(await get('/api/users/me', agent.apiKey), 'get', '/api/users/me', 200);
      expectDocumented(await patch(`/api/users/${agent.id}`, admin, { department: 'Sales' }), 'patch', '/api/users/{id}', 200);
      const agents = await get('/api/agents', agent.apiKey);
      expectDocumented(agents, 'get', '/api/agents', 200);
      expect(agents.body.agents).toHaveLength(1);

      const issued = await post(`/api/users/${agent.id}/api-keys`, admin, { name: 'second' });
      expectDocumented(issued, 'post', '/api/users/{id}/api-keys', 201);
      expectDocumented(await t.http().delete(`/api/api-keys/${issued.body.id}`).set(bearer(admin)), 'delete', '/api/api-keys/{id}', 204);
      const keys = await get(`/api/users/${agent.id}/api-keys`, admin);
      expectDocumented(keys, 'get', '/api/users/{id}/api-keys', 200);
      expect(keys.body.apiKeys.map((k: { revokedAt: string | null }) => k.revokedAt === null)).toEqual([true, false]);
    });

    it('should answer campaigns and contacts as documented', async () => {
      expectDocumented(made.campaign, 'post', '/api/campaigns', 201);
      expectDocumented(await post('/api/campaigns', admin, { name: 'Autumn' }), 'post', '/api/campaigns', 201); // callingWindow null
      expectDocumented(await get('/api/campaigns', agent.apiKey), 'get', '/api/campaigns', 200);

      expectDocumented(made.contact, 'post', '/api/contacts', 201);
      expectDocumented(made.otherContact, 'post', '/api/contacts', 201);

      expectDocumented(await get(`/api/contacts/${contactId}`, agent.apiKey), 'get', '/api/contacts/{id}', 200);
      expectDocumented(await patch(`/api/contacts/${otherContactId}`, admin, { leadStatus: 'Interested', tags: ['b'] }), 'patch', '/api/contacts/{id}', 200);
      const page = await get('/api/contacts?limit=1', admin);
      expectDocumented(page, 'get', '/api/contacts', 200);
      expect(page.body.nextCursor).toEqual(expect.any(String));
      expectDocumented(await get(`/api/contacts?cursor=${page.body.nextCursor}`, admin), 'get', '/api/contacts', 200);
      expectDocumented(await post(`/api/contacts/${contactId}/notes`, agent.apiKey, { text: 'Call after lunch' }), 'post', '/api/contacts/{id}/notes', 201);
    });

    it('should answer pushed calls, batches, live calls and call lists as documented', async () => {
      const body = call({ note: 'interested', tags: ['inbound-campaign'], campaignId, leadStatus: 'Interested' });
      expectDocumented(await post('/api/calls', agent.apiKey, body), 'post', '/api/calls', 201);
      const again = await post('/api/calls', agent.apiKey, body);
      expectDocumented(again, 'post', '/api/calls', 200);
      expect(again.body.status).toBe('duplicate');
      const followUp = await post('/api/calls', agent.apiKey, call({ status: 'Follow up', followUp: { scheduledAt: new Date(Date.now() + 86_400_000).toISOString() } }));
      expectDocumented(followUp, 'post', '/api/calls', 201);
      expect(followUp.body.followUpId).toEqual(expect.any(String));
      expectDocumented(await post('/api/calls', agent.apiKey, call({ status: 'In-progress', durationSec: 0 })), 'post', '/api/calls', 201);

      const batch = await post('/api/calls/batch', admin, { calls: [call({ status: 'Busy', durationSec: 0 }), { callId: 'x' }, body, call({ contactId: randomUUID() })] });
      expectDocumented(batch, 'post', '/api/calls/batch', 200);
      expect(batch.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'rejected', 'duplicate', 'rejected']);

      const live = await get('/api/calls/live', admin);
      expectDocumented(live, 'get', '/api/calls/live', 200);
      expect(live.body.calls).toHaveLength(1);
      expectDocumented(await get('/api/calls?limit=2', admin), 'get', '/api/calls', 200);
      expectDocumented(await get(`/api/contacts/${contactId}/calls`, agent.apiKey), 'get', '/api/contacts/{id}/calls', 200);
    });

    it('should answer follow-ups, the timeline and the hub as documented', async () => {
      const scheduled = await post(`/api/contacts/${contactId}/follow-ups`, agent.apiKey, {
        scheduledAt: new Date(Date.now() - 2 * 86_400_000).toISOString(),
        priority: 'high',
        notes: 'send pricing',
      });
      expectDocumented(scheduled, 'post', '/api/contacts/{id}/follow-ups', 201);
      const followUpId = scheduled.body.id;
      const sms = await post(`/api/contacts/${contactId}/follow-ups`, admin, {
        type: 'sms',
        message: 'We will call you tomorrow',
        scheduledAt: new Date(Date.now() + 86_400_000).toISOString(),
        agentId: agent.id,
        campaignId,
      });
      expectDocumented(sms, 'post', '/api/contacts/{id}/follow-ups', 201);
      expect(sms.body.message).toBe('We will call you tomorrow'); // a key documented as optional, answered for sms
      const smsFollowUpId = sms.body.id;

      expectDocumented(await get(`/api/follow-ups/${followUpId}`, agent.apiKey), 'get', '/api/follow-ups/{id}', 200);
      expectDocumented(await get('/api/follow-ups?limit=1', admin), 'get', '/api/follow-ups', 200);
      expectDocumented(await get(`/api/contacts/${contactId}/follow-ups`, agent.apiKey), 'get', '/api/contacts/{id}/follow-ups', 200);
      const inAWeek = new Date(Date.now() + 7 * 86_400_000).toISOString();
      expectDocumented(await post(`/api/follow-ups/${smsFollowUpId}/reschedule`, admin, { scheduledAt: inAWeek }), 'post', '/api/follow-ups/{id}/reschedule', 200);
      expectDocumented(await post(`/api/follow-ups/${smsFollowUpId}/cancel`, admin, { reason: 'not needed' }), 'post', '/api/follow-ups/{id}/cancel', 200);
      const webhook = await post(`/api/contacts/${otherContactId}/follow-ups`, admin, { type: 'webhook', url: 'https://hooks.example.com/follow-up', agentId: agent.id });
      expectDocumented(webhook, 'post', '/api/contacts/{id}/follow-ups', 201);
      expect(webhook.body.url).toBe('https://hooks.example.com/follow-up');
      expectDocumented(await post(`/api/follow-ups/${webhook.body.id}/snooze`, admin, {}), 'post', '/api/follow-ups/{id}/snooze', 200);
      expectDocumented(await post(`/api/follow-ups/${webhook.body.id}/complete`, admin, {}), 'post', '/api/follow-ups/{id}/complete', 200);

      const timeline = await get(`/api/contacts/${contactId}/timeline?limit=3`, agent.apiKey);
      expectDocumented(timeline, 'get', '/api/contacts/{id}/timeline', 200);
      expect(timeline.body.nextCursor).toEqual(expect.any(String));

      const hub = await get('/api/follow-ups/due', agent.apiKey);
      expectDocumented(hub, 'get', '/api/follow-ups/due', 200);
      expect(hub.body.followUps.map((f: { id: string }) => f.id)).toEqual([contactId]);
      expectDocumented(await patch('/api/follow-ups/due', agent.apiKey, { personId: contactId, action: 'snooze' }), 'patch', '/api/follow-ups/due', 200);
    });

    it('should answer the settings as documented, to admins (with the secret) and to others', async () => {
      const forAdmin = await get('/api/settings', admin);
      expectDocumented(forAdmin, 'get', '/api/settings', 200);
      expect(forAdmin.body.signingSecret).toEqual(expect.any(String));
      const forAgent = await get('/api/settings', agent.apiKey);
      expectDocumented(forAgent, 'get', '/api/settings', 200);
      expect(forAgent.body).not.toHaveProperty('signingSecret');
      expectDocumented(await patch('/api/settings', admin, { snoozeDays: 4, dialler: { url: 'https://dialler.example.com/dial' } }), 'patch', '/api/settings', 200);
      const rotated = await post('/api/settings/signing-secret/rotate', admin, { graceSeconds: 60 });
      expectDocumented(rotated, 'post', '/api/settings/signing-secret/rotate', 200);
      expect(rotated.body.previousSigningSecretExpiresAt).toEqual(expect.any(String));
    });

    it('should answer the reports as documented', async () => {
      const today = new Date().toISOString().slice(0, 10);
      expectDocumented(await get(`/api/reports/calls?from=${today}&to=${today}&groupBy=agent`, admin), 'get', '/api/reports/calls', 200);
      expectDocumented(await get('/api/reports/follow-ups', admin), 'get', '/api/reports/follow-ups', 200);
    });

    it('should answer errors with the documented error body', async () => {
      const invalid = await post('/api/contacts', admin, { phone: '555' });
      expectDocumented(invalid, 'post', '/api/contacts', 400);
      expect(invalid.body.message).toEqual(expect.arrayContaining([expect.stringMatching(/^name/), expect.stringMatching(/^phone/)]));
      expectDocumented(await get(`/api/contacts/${randomUUID()}`, admin), 'get', '/api/contacts/{id}', 404);
      expectDocumented(await get(`/api/follow-ups/${randomUUID()}`, admin), 'get', '/api/follow-ups/{id}', 404);
      expectDocumented(await t.http().get('/api/contacts'), 'get', '/api/contacts', 401);
      expectDocumented(await get('/api/calls/live', agent.apiKey), 'get', '/api/calls/live', 403);
      const cancelled = expectMade(await post(`/api/contacts/${otherContactId}/follow-ups`, admin, {}), 201).body.id;
      expectMade(await post(`/api/follow-ups/${cancelled}/cancel`, admin, {}), 200);
      expectDocumented(await post(`/api/follow-ups/${cancelled}/cancel`, admin, {}), 'post', '/api/follow-ups/{id}/cancel', 409);
      expectDocumented(await get('/api/follow-ups/due?limit=201', agent.apiKey), 'get', '/api/follow-ups/due', 400);
      const key = `note-${randomUUID()}`;
      const note = (text: string) => t.http().post(`/api/contacts/${contactId}/notes`).set(bearer(admin)).set('idempotency-key', key).send({ text });
      expectDocumented(await note('first'), 'post', '/api/contacts/{id}/notes', 201);
      expectDocumented(await note('another text'), 'post', '/api/contacts/{id}/notes', 422);
    });

    it('should have checked a real answer of every operation', () => {
      const answered = new Set([...checked].map((c) => c.split(' ').slice(0, 2).join(' ')));
      expect(operationsOf(doc).map((o) => o.label).filter((label) => !answered.has(label))).toEqual([]);
    });
  });
});
