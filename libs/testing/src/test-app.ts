import { FastifyAdapter } from '@nestjs/platform-fastify';
import { INestApplication } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import request from 'supertest';
import { Database } from '@app/shared';
import { CreateOrganizationCommand, CreateOrganizationResult } from '@app/tenancy';
import { createApp } from '../../../apps/api/src/bootstrap';
import { flushPrefix } from './redis-prefix';
import { createTestDatabase } from './test-database';

export interface TestApp {
  readonly app: INestApplication;
  readonly db: Database;
  /** This file's database name, also its Redis key prefix. */
  readonly name: string;
  http(): ReturnType<typeof request>;
  createOrg(name?: string, timezone?: string): Promise<CreateOrganizationResult>;
  createUser(adminKey: string, body: Record<string, unknown>): Promise<{ id: string; apiKey: string }>;
  close(): Promise<void>;
  /**
   * Boots another instance of the service on this one's database and Redis prefix (a second process of a rolling
   * deploy, or the one that replaces this after a restart), leaving this one running. The new one's close() also drops
   * the database, so close this one's app with `app.close()` alone.
   */
  reopen(): Promise<TestApp>;
}

/** Sets the environment a test process runs under: its own database and Redis prefix, quick polling, quiet logs. */
export function testEnvironment(db: { name: string; url: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    QUEUE_PREFIX: db.name,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'error',
    POLL_INTERVAL_MS: '10',
    PORT: '0',
    // The limiter runs in every test (its Redis round trip included), with room for a test's whole traffic on one key.
    RATE_LIMIT_REQUESTS: '10000000',
    // Every test's client is 127.0.0.1: the suites that send bad keys on purpose would lock each other out.
    AUTH_FAILURE_LIMIT: '10000000',
    ...extra,
  };
}

/** The whole service (API + workers + projections) on a fresh database, reached through supertest. */
export async function startTestApp(options: { worker?: boolean; env?: Record<string, string> } = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  Object.assign(process.env, testEnvironment(database, options.env));
  return bootTestApp(database, options);
}

async function bootTestApp(database: { name: string; url: string; drop: () => Promise<void> }, options: { worker?: boolean; env?: Record<string, string> }): Promise<TestApp> {
  const app = await createApp({ api: true, worker: options.worker ?? true }, { migrate: false });
  try {
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    // What listen() does in the service: stop buffering the boot's log lines (bufferLogs), or every later line of
    // Nest's Logger would be kept in memory, unwritten.
    app.flushLogs();
  } catch (err) {
    await app.close().catch(() => undefined);
    await database.drop();
    throw err;
  }
  const db = app.get(Database);
  const http = () => request(app.getHttpServer());
  return {
    app,
    db,
    name: database.name,
    http,
    createOrg: (name = 'Test org', timezone = 'UTC') =>
      app.get(CommandBus).execute<CreateOrganizationCommand, CreateOrganizationResult>(new CreateOrganizationCommand(name, timezone)),
    async createUser(adminKey, body) {
      const res = await http().post('/api/users').set('authorization', `Bearer ${adminKey}`).send(body);
      if (res.status !== 201) throw new Error(`createUser: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id, apiKey: res.body.apiKey };
    },
    async close() {
      await app.close();
      await flushPrefix(database.name);
      await database.drop();
    },
    reopen() {
      Object.assign(process.env, testEnvironment(database, options.env));
      return bootTestApp(database, options);
    },
  };
}

/** Polls until the assertion stops throwing (for async projections and workers), or fails with its last error. */
export async function eventually<T>(assertion: () => Promise<T> | T, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** A Nest context with the platform and event store only (for int-specs below the HTTP layer). */
export async function startStoreContext(extra: { imports?: any[]; providers?: any[] } = {}) {
  const { Test } = await import('@nestjs/testing');
  const { PlatformModule } = await import('@app/shared');
  const { EventStoreModule } = await import('@app/event-store');
  const database = await createTestDatabase();
  Object.assign(process.env, testEnvironment(database));
  const moduleRef = await Test.createTestingModule({
    imports: [PlatformModule.forRoot(), EventStoreModule.forRoot({ runConsumers: false }), ...(extra.imports ?? [])],
    providers: extra.providers ?? [],
  }).compile();
  const app = moduleRef.createNestApplication(new FastifyAdapter());
  await app.init();
  return {
    app,
    db: app.get(Database),
    name: database.name,
    async close() {
      await app.close();
      await database.drop();
    },
  };
}
