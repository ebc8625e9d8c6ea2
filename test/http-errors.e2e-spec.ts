import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { bearer, expectError, fieldsNamed, messagesOf, startTestApp, TestApp } from '@app/testing';

describe('HTTP errors (SPEC §9)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  const agentNames = async (key: string): Promise<string[]> => {
    const res = await t.http().get('/api/agents').set(bearer(key));
    expect(res.status).toBe(200);
    return res.body.agents.map((a: { name: string }) => a.name);
  };

  /** A user created over HTTP, with the id of its key (to revoke it). */
  const createUser = async (adminKey: string, body: Record<string, unknown>) => {
    const res = await t.http().post('/api/users').set(bearer(adminKey)).send(body);
    expect(res.status).toBe(201);
    return { id: res.body.id as string, apiKey: res.body.apiKey as string, apiKeyId: res.body.apiKeyId as string };
  };

  describe('bad input', () => {
    it('should answer 400 naming the body when the JSON is malformed', async () => {
      const org = await t.createOrg();
      const res = await t.http().post('/api/users').set(bearer(org.adminKey)).set('content-type', 'application/json').send('{"name": "Ana", "role": ');
      expectError(res, 400, 'Bad Request');
      expect(typeof res.body.message).toBe('string');
      expect(res.body.message).toMatch(/^body is not valid JSON/);
      expect(await agentNames(org.adminKey)).toEqual([]);
    });

    it('should answer 400 when the body is JSON but not an object or array', async () => {
      const org = await t.createOrg();
      const res = await t.http().post('/api/users').set(bearer(org.adminKey)).set('content-type', 'application/json').send('"Ana"');
      expectError(res, 400, 'Bad Request');
      expect(res.body.message).toMatch(/JSON/);
    });

    it('should answer 400 naming the field when a field is unknown', async () => {
      const org = await t.createOrg();
      const res = await t.http().post('/api/users').set(bearer(org.adminKey)).send({ name: 'Ana', role: 'agent', salary: 1000 });
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toEqual(['salary']);
      expect(messagesOf(res)).toEqual(['salary: property salary should not exist']);
      expect(await agentNames(org.adminKey)).toEqual([]);
    });

    it.each(['constructor', '__proto__'])('should answer 400 naming the field when the unknown field is %s', async (field) => {
      const org = await t.createOrg();
      const body = `{"name": "Ana", "role": "agent", "${field}": {"role": "admin"}}`;
      const res = await t.http().post('/api/users').set(bearer(org.adminKey)).set('content-type', 'application/json').send(body);
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toEqual([field]);
      expect(await agentNames(org.adminKey)).toEqual([]);
    });

    it('should answer 400 naming every field when the types are wrong', async () => {
      const org = await t.createOrg();
      const res = await t
        .http()
        .post('/api/users')
        .set(bearer(org.adminKey))
        .send({ name: 123, role: 'boss', timezone: 'Mars/Olympus', email: 'x' });
      expectError(res, 400, 'Bad Request');
      expect(Array.isArray(res.body.message)).toBe(true);
      expect(fieldsNamed(res)).toEqual(['email', 'name', 'role', 'timezone']);
      expect(messagesOf(res)).toEqual(
        expect.arrayContaining([
          'name must be a string',
          'role must be one of the following values: admin, supervisor, agent, integration',
          'email must be an email',
          'timezone must be an IANA time zone such as Europe/London',
        ]),
      );
    });

    it('should answer 400 naming the fields when required fields are missing', async () => {
      const org = await t.createOrg();
      const res = await t.http().post('/api/users').set(bearer(org.adminKey)).send({ branch: 'North' });
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toEqual(['name', 'role']);
    });

    it('should answer 400 naming the fields when an object or array is sent where a string is expected', async () => {
      // CreateUserDto has no nested object or array fields; this is the nearest case.
      const org = await t.createOrg();
      const res = await t
        .http()
        .post('/api/users')
        .set(bearer(org.adminKey))
        .send({ name: { first: 'Ana' }, role: ['agent'], branch: ['North'] });
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toEqual(['branch', 'name', 'role']);
      expect(await agentNames(org.adminKey)).toEqual([]);
    });

    it('should answer 400 naming the parameter when a query value is not allowed', async () => {
      const org = await t.createOrg();
      const res = await t.http().get('/api/agents?active=maybe').set(bearer(org.adminKey));
      expectError(res, 400, 'Bad Request');
      expect(messagesOf(res)).toEqual(['active must be one of the following values: true, false']);
    });

    it('should answer 400 naming the parameter when a query parameter is unknown', async () => {
      const org = await t.createOrg();
      const res = await t.http().get('/api/agents?branch=North').set(bearer(org.adminKey));
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toEqual(['branch']);
    });

    it('should answer 400 when a path parameter is not valid percent-encoding', async () => {
      const org = await t.createOrg();
      const res = await t.http().get('/api/users/%FF').set(bearer(org.adminKey));
      expectError(res, 400, 'Bad Request');
    });

    it('should answer 413 when the body is over the size limit', async () => {
      const org = await t.createOrg();
      const body = JSON.stringify({ name: 'x'.repeat(6 * 1024 * 1024), role: 'agent' });
      const res = await t.http().post('/api/users').set(bearer(org.adminKey)).set('content-type', 'application/json').send(body);
      expectError(res, 413, 'Payload Too Large');
    });

    it('should answer 415 and create nothing when the body is not JSON', async () => {
      const org = await t.createOrg();
      const res = await t.http().post('/api/users').set(bearer(org.adminKey)).set('content-type', 'application/x-www-form-urlencoded').send('name=Ana&role=agent');
      expectError(res, 415, 'Unsupported Media Type');
      expect(await agentNames(org.adminKey)).toEqual([]);
    });

    it('should take an empty body sent as JSON as {} and name the missing fields', async () => {
      const org = await t.createOrg();
      const res = await t.http().post('/api/users').set(bearer(org.adminKey)).set('content-type', 'application/json').send('');
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toEqual(['name', 'role']);
    });
  });

  describe('credentials', () => {
    it('should answer 401 when there is no Authorization header', async () => {
      const res = await t.http().get('/api/agents');
      expectError(res, 401, 'Unauthorized');
      expect(res.body.message).toMatch(/API key/);
    });

    it.each([
      ['a Basic scheme', (key: string) => `Basic ${key}`],
      ['Bearer without a key', () => 'Bearer '],
      ['two tokens after Bearer', (key: string) => `Bearer ${key} extra`],
      ['the key without a scheme', (key: string) => key],
    ])('should answer 401 when the Authorization header is malformed (%s)', async (_, header) => {
      const org = await t.createOrg();
      const res = await t.http().get('/api/agents').set('authorization', header(org.adminKey));
      expectError(res, 401, 'Unauthorized');
    });

    it('should answer 401 when the key is unknown', async () => {
      const org = await t.createOrg();
      const res = await t.http().get('/api/agents').set(bearer(`${org.adminKey}x`));
      expectError(res, 401, 'Unauthorized');
      expect(res.body.message).toBe('invalid or revoked API key');
    });

    it('should answer 401 when the key was revoked', async () => {
      const org = await t.createOrg();
      const ana = await createUser(org.adminKey, { name: 'Ana', role: 'agent' });
      expect(await agentNames(ana.apiKey)).toEqual(['Ana']);

      const revoke = await t.http().delete(`/api/api-keys/${ana.apiKeyId}`).set(bearer(org.adminKey));
      expect(revoke.status).toBe(204);

      const res = await t.http().get('/api/agents').set(bearer(ana.apiKey));
      expectError(res, 401, 'Unauthorized');
      expect(res.body.message).toBe('invalid or revoked API key');
      // the admin's own key is untouched
      expect(await agentNames(org.adminKey)).toEqual(['Ana']);
    });

    it('should answer 401 at once when a key in use is deactivated with its user', async () => {
      const org = await t.createOrg();
      const ana = await createUser(org.adminKey, { name: 'Ana', role: 'agent' });
      expect(await agentNames(ana.apiKey)).toEqual(['Ana']);
      expect((await t.http().patch(`/api/users/${ana.id}`).set(bearer(org.adminKey)).send({ active: false })).status).toBe(200);
      expectError(await t.http().get('/api/agents').set(bearer(ana.apiKey)), 401, 'Unauthorized');
    });

    it('should refuse a key another process revoked within AUTH_CACHE_MS (1 s) while it is in use here', async () => {
      const org = await t.createOrg();
      const ana = await createUser(org.adminKey, { name: 'Ana', role: 'agent' });
      expect(await agentNames(ana.apiKey)).toEqual(['Ana']);
      // Another process's revocation: the read model changes under this process, which is not told.
      await t.db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [ana.apiKeyId]);
      const revokedAt = Date.now();
      // Requests keep coming meanwhile, so the process has every chance to keep trusting the key it knows.
      while (Date.now() - revokedAt < 1100) {
        await t.http().get('/api/agents').set(bearer(ana.apiKey));
        await new Promise((r) => setTimeout(r, 50));
      }
      const res = await t.http().get('/api/agents').set(bearer(ana.apiKey));
      expect(Date.now() - revokedAt).toBeGreaterThanOrEqual(1000);
      expectError(res, 401, 'Unauthorized');
    });

    it('should answer 401 rather than validate the body when there is no key', async () => {
      const res = await t.http().post('/api/users').send({ name: 123 });
      expectError(res, 401, 'Unauthorized');
    });

    it('should answer 401, without reading it, to a body sent without a valid key: never a parse error, whatever it holds', async () => {
      // Regression: the body was parsed before the key was looked at, up to 5 MB of JSON for anyone (45 ms of CPU a
      // request), and a malformed one was a 400 that the failed-authentication limit did not count.
      const org = await t.createOrg();
      const big = `{"calls": [${'{"callId": "x"},'.repeat(200_000)}`; // 3.2 MB, not JSON
      for (const key of [undefined, `${org.adminKey}x`]) {
        let req = t.http().post('/api/calls/batch').set('content-type', 'application/json');
        if (key) req = req.set(bearer(key));
        const res = await req.send(big);
        expectError(res, 401, 'Unauthorized');
      }
      // with the key: the same body is read, and refused as the malformed JSON it is
      expectError(await t.http().post('/api/calls/batch').set(bearer(org.adminKey)).set('content-type', 'application/json').send(big), 400, 'Bad Request');
      // a route that does not exist is still a 404, key or not
      expectError(await t.http().post('/api/no-such-thing').send({ a: 1 }), 404, 'Not Found');
      // and a body sent with a valid key reaches its handler as before, the key looked up once
      expect((await t.http().post('/api/users').set(bearer(org.adminKey)).send({ name: 'Ana', role: 'agent' })).status).toBe(201);
    });
  });

  describe('roles', () => {
    it('should answer 403 when an agent creates a user', async () => {
      const org = await t.createOrg();
      const agent = await createUser(org.adminKey, { name: 'Ana', role: 'agent' });
      const res = await t.http().post('/api/users').set(bearer(agent.apiKey)).send({ name: 'Bob', role: 'admin' });
      expectError(res, 403, 'Forbidden');
      expect(res.body.message).toMatch(/admin/);
      expect(await agentNames(org.adminKey)).toEqual(['Ana']);
    });

    it('should answer 403 when an integration key creates a user', async () => {
      const org = await t.createOrg();
      const dialler = await createUser(org.adminKey, { name: 'Dialler', role: 'integration' });
      const res = await t.http().post('/api/users').set(bearer(dialler.apiKey)).send({ name: 'Bob', role: 'agent' });
      expectError(res, 403, 'Forbidden');
      expect(await agentNames(org.adminKey)).toEqual([]);
    });

    it('should answer 403 when an agent reads a user, while a supervisor may', async () => {
      const org = await t.createOrg();
      const agent = await createUser(org.adminKey, { name: 'Ana', role: 'agent' });
      const supervisor = await createUser(org.adminKey, { name: 'Sue', role: 'supervisor' });

      const res = await t.http().get(`/api/users/${supervisor.id}`).set(bearer(agent.apiKey));
      expectError(res, 403, 'Forbidden');

      const allowed = await t.http().get(`/api/users/${agent.id}`).set(bearer(supervisor.apiKey));
      expect(allowed.status).toBe(200);
      expect(allowed.body).toMatchObject({ id: agent.id, name: 'Ana', role: 'agent' });
    });

    it('should answer 403 and keep the key when an agent revokes a key', async () => {
      const org = await t.createOrg();
      const agent = await createUser(org.adminKey, { name: 'Ana', role: 'agent' });
      const other = await createUser(org.adminKey, { name: 'Bob', role: 'agent' });
      const res = await t.http().delete(`/api/api-keys/${other.apiKeyId}`).set(bearer(agent.apiKey));
      expectError(res, 403, 'Forbidden');
      expect(await agentNames(other.apiKey)).toEqual(['Ana', 'Bob']);
    });
  });

  describe('another organization', () => {
    const twoOrgs = async () => {
      const a = await t.createOrg('Org A');
      const b = await t.createOrg('Org B');
      const bAgent = await createUser(b.adminKey, { name: 'Bea', role: 'agent' });
      return { a, b, bAgent };
    };

    it("should answer 404 when an admin reads another organization's user", async () => {
      const { a, b, bAgent } = await twoOrgs();
      const res = await t.http().get(`/api/users/${bAgent.id}`).set(bearer(a.adminKey));
      expectError(res, 404, 'Not Found');
      expect(res.body.message).toBe(`user ${bAgent.id} not found`);
      expect(JSON.stringify(res.body)).not.toContain('Bea');

      const own = await t.http().get(`/api/users/${bAgent.id}`).set(bearer(b.adminKey));
      expect(own.status).toBe(200);
      expect(own.body.name).toBe('Bea');
    });

    it("should answer 404 and change nothing when an admin revokes another organization's key", async () => {
      const { a, b, bAgent } = await twoOrgs();
      const res = await t.http().delete(`/api/api-keys/${bAgent.apiKeyId}`).set(bearer(a.adminKey));
      expectError(res, 404, 'Not Found');
      expect(res.body.message).toBe(`api key ${bAgent.apiKeyId} not found`);
      expect(await agentNames(bAgent.apiKey)).toEqual(['Bea']);

      // the same call by the key's own admin does revoke it
      const own = await t.http().delete(`/api/api-keys/${bAgent.apiKeyId}`).set(bearer(b.adminKey));
      expect(own.status).toBe(204);
      expectError(await t.http().get('/api/agents').set(bearer(bAgent.apiKey)), 401, 'Unauthorized');
    });

    it('should answer 404 when the user or key id does not exist', async () => {
      const org = await t.createOrg();
      const id = randomUUID();
      const user = await t.http().get(`/api/users/${id}`).set(bearer(org.adminKey));
      expectError(user, 404, 'Not Found');
      expect(user.body.message).toBe(`user ${id} not found`);
      const key = await t.http().delete(`/api/api-keys/${id}`).set(bearer(org.adminKey));
      expectError(key, 404, 'Not Found');
      expect(key.body.message).toBe(`api key ${id} not found`);
    });

    it('should answer 404 when the id is not a uuid', async () => {
      const org = await t.createOrg();
      const user = await t.http().get('/api/users/not-a-uuid').set(bearer(org.adminKey));
      expectError(user, 404, 'Not Found');
      expect(user.body.message).toBe('user not found');
      const key = await t.http().delete("/api/api-keys/1'%20OR%201=1").set(bearer(org.adminKey));
      expectError(key, 404, 'Not Found');
      expect(key.body.message).toBe('api key not found');
    });

    it("should never list another organization's agents", async () => {
      const { a, b } = await twoOrgs();
      const aAgent = await createUser(a.adminKey, { name: 'Ana', role: 'agent' });
      await createUser(b.adminKey, { name: 'Ben', role: 'agent' });
      const revoked = await createUser(b.adminKey, { name: 'Bo', role: 'agent' });
      expect((await t.http().delete(`/api/api-keys/${revoked.apiKeyId}`).set(bearer(b.adminKey))).status).toBe(204);

      for (const query of ['', '?active=true', '?active=false']) {
        const res = await t.http().get(`/api/agents${query}`).set(bearer(aAgent.apiKey));
        expect(res.status).toBe(200);
        expect(res.body.agents.map((x: { name: string }) => x.name)).toEqual(query === '?active=false' ? [] : ['Ana']);
      }
      expect(await agentNames(b.adminKey)).toEqual(['Bea', 'Ben', 'Bo']);
    });
  });

  describe('what the HTTP layer refuses or takes (Fastify)', () => {
    const json = 'application/json';

    it('should take a body-less action sent with any content type', async () => {
      const org = await t.createOrg();
      const res = await t.http().post('/api/settings/signing-secret/rotate').set(bearer(org.adminKey)).set('content-type', 'application/x-www-form-urlencoded').send('');
      expect(res.status).toBeLessThan(300);
    });

    it('should answer 415 naming the encoding when the body is compressed', async () => {
      const org = await t.createOrg();
      const res = await t.http().post('/api/users').set(bearer(org.adminKey)).set('content-type', json).set('content-encoding', 'gzip').send(gzipSync('{"name":"Gz","role":"agent"}'));
      expectError(res, 415, 'Unsupported Media Type');
      expect(res.body.message).toMatch(/content-encoding gzip/);
      expect(await agentNames(org.adminKey)).toEqual([]);
    });

    it('should answer 415 naming the charset when the body is not UTF-8 by its content type', async () => {
      const org = await t.createOrg();
      const res = await t.http().post('/api/users').set(bearer(org.adminKey)).set('content-type', `${json}; charset=latin1`).serialize((b: Buffer) => b as unknown as string).send(Buffer.from('{"name":"caf\xe9","role":"agent"}', 'latin1'));
      expectError(res, 415, 'Unsupported Media Type');
      expect(res.body.message).toMatch(/charset latin1/);
      expect(await agentNames(org.adminKey)).toEqual([]);
    });

    it('should answer 400 and store nothing when the bytes are not UTF-8', async () => {
      const org = await t.createOrg();
      const res = await t.http().post('/api/users').set(bearer(org.adminKey)).set('content-type', json).serialize((b: Buffer) => b as unknown as string).send(Buffer.from('{"name":"caf\xe9","role":"agent"}', 'latin1'));
      expectError(res, 400, 'Bad Request');
      expect(res.body.message).toBe('body is not valid UTF-8');
      expect(await agentNames(org.adminKey)).toEqual([]);
    });

    it('should answer 415 when a body is sent as text', async () => {
      const org = await t.createOrg();
      const res = await t.http().post('/api/users').set(bearer(org.adminKey)).set('content-type', 'text/plain').send('{"name":"Ana","role":"agent"}');
      expectError(res, 415, 'Unsupported Media Type');
    });

    it('should answer 400, not 500, when the body is nested deeper than the stack', async () => {
      const org = await t.createOrg();
      const depth = 200_000;
      const res = await t.http().post('/api/users').set(bearer(org.adminKey)).set('content-type', json).send(`{"name":"Ana","role":"agent","x":${'['.repeat(depth)}${']'.repeat(depth)}}`);
      expectError(res, 400, 'Bad Request');
      expect(await agentNames(org.adminKey)).toEqual([]);
    });

    it('should answer 400 naming the field when a string holds a NUL character, in a body, a pushed call and a query', async () => {
      const org = await t.createOrg();
      const user = await t.http().post('/api/users').set(bearer(org.adminKey)).send({ name: 'A\u0000na', role: 'agent' });
      expectError(user, 400, 'Bad Request');
      expect(fieldsNamed(user)).toEqual(['name']);
      const agent = await createUser(org.adminKey, { name: 'Ana', role: 'agent' });
      const contact = await t.http().post('/api/contacts').set(bearer(org.adminKey)).send({ name: 'Lead', phone: '+14155550100', assignedAgentId: agent.id });
      expect(contact.status).toBe(201);
      const call = { callId: 'nul-1', contactId: contact.body.id, agentId: agent.id, direction: 'outbound', status: 'Called', durationSec: 30, startedAt: new Date().toISOString() };
      const pushed = await t.http().post('/api/calls').set(bearer(org.adminKey)).send({ ...call, note: 'x\u0000y' });
      expectError(pushed, 400, 'Bad Request');
      expect(fieldsNamed(pushed)).toEqual(['note']);
      const batch = await t.http().post('/api/calls/batch').set(bearer(org.adminKey)).send({ calls: [{ ...call, callId: 'nul-2', note: 'x\u0000y' }, { ...call, callId: 'nul-3' }] });
      expect(batch.status).toBe(200);
      expect(batch.body.results.map((r: { status: string }) => r.status)).toEqual(['rejected', 'accepted']);
      const listed = await t.http().get('/api/contacts?q=a%00b').set(bearer(org.adminKey));
      expectError(listed, 400, 'Bad Request');
      expect(fieldsNamed(listed)).toEqual(['q']);
    });

    it("should answer 400 naming callingWindow when a campaign's window is not an object", async () => {
      const org = await t.createOrg();
      const res = await t.http().post('/api/campaigns').set(bearer(org.adminKey)).send({ name: 'Spring', callingWindow: [] });
      expectError(res, 400, 'Bad Request');
      expect(fieldsNamed(res)).toContain('callingWindow');
    });

    it('should match a path whatever its case', async () => {
      const org = await t.createOrg();
      expect((await t.http().get('/API/Agents').set(bearer(org.adminKey))).status).toBe(200);
    });

    it('should take a plain x-request-id and replace any other with a uuid', async () => {
      expect((await t.http().get('/health/live').set('x-request-id', 'dialler-7.a:b')).headers['x-request-id']).toBe('dialler-7.a:b');
      const long = await t.http().get('/health/live').set('x-request-id', 'x'.repeat(200));
      expect(long.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      const spaced = await t.http().get('/health/live').set('x-request-id', 'a b');
      expect(spaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('should answer a URL it cannot decode with the request id and a short message', async () => {
      const org = await t.createOrg();
      const res = await t.http().get(`/api/users/${'a'.repeat(900)}%FF`).set(bearer(org.adminKey)).set('x-request-id', 'bad-url-1');
      expectError(res, 400, 'Bad Request');
      expect(res.headers['x-request-id']).toBe('bad-url-1');
      expect(res.body.message.length).toBeLessThanOrEqual(201);
    });
  });

  describe('unknown routes', () => {
    it.each([
      ['GET', '/api/nothing-here'],
      ['GET', '/nothing-here'],
      ['PUT', '/api/users'],
      ['POST', '/api/agents'],
    ])('should answer 404 with the shape when %s %s is not a route', async (method, path) => {
      const org = await t.createOrg();
      const res = await t
        .http()
        [method.toLowerCase() as 'get' | 'put' | 'post'](path)
        .set(bearer(org.adminKey));
      expectError(res, 404, 'Not Found');
      expect(res.body.message).toBe(`Cannot ${method} ${path}`);
    });

    it('should answer 404 when an unknown route is called without a key', async () => {
      const res = await t.http().get('/api/nothing-here');
      expectError(res, 404, 'Not Found');
    });
  });
});
