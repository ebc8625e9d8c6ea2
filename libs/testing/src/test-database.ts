import { Client } from 'pg';
import { randomBytes } from 'node:crypto';

export const ADMIN_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function urlFor(database: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function withAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The migrated template of this test run (made once by global-setup). */
export const templateName = () => {
  const run = process.env.FU_TEST_RUN;
  if (!run) throw new Error('FU_TEST_RUN is not set: run tests through jest (global-setup)');
  return `fu_test_${run}_tpl`;
};

/** A fresh, migrated database owned by one test file; its name also serves as that file's Redis prefix. */
export async function createTestDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `fu_test_${process.env.FU_TEST_RUN}_${randomBytes(4).toString('hex')}`;
  await withAdmin(async (c) => {
    // CREATE DATABASE ... TEMPLATE fails if another session is connected to the template at that moment.
    for (let attempt = 1; ; attempt++) {
      try {
        await c.query(`CREATE DATABASE "${name}" TEMPLATE "${templateName()}"`);
        return;
      } catch (err) {
        if (attempt >= 20 || !/being accessed by other users/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  });
  return {
    name,
    url: urlFor(name),
    drop: () => withAdmin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}

/**
 * For a migration's suite: a fresh migrated database and one client to it, made before the suite's tests and dropped
 * after them (this registers the suite's beforeAll and afterAll). The suite undoes and redoes migrations on it.
 */
export function migrationTestDatabase(): { readonly url: string; readonly client: Client } {
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let client: Client | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    client = new Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });
  return {
    get url() {
      return db!.url;
    },
    get client() {
      return client!;
    },
  };
}
