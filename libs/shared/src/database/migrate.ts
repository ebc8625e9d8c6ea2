import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from './migrations';

/**
 * Creates the database named in the URL if it does not exist (the single-machine default needs no manual step). A
 * failure names Postgres and the variable, without the password: a bare "connect ECONNREFUSED 127.0.0.1:1" was all a
 * CLI command (or a service at boot) printed, and nothing said it was the database that did not answer.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw new Error(`Postgres did not accept a connection (DATABASE_URL=${withoutSecrets(url)}, through the server's postgres database): ${(err as Error).message}`, { cause: err });
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((err: { code?: string }) => {
        if (err.code !== '42P04' && err.code !== '23505') throw err; // created by a concurrent starter
      });
    }
  } catch (err) {
    throw new Error(`Postgres (DATABASE_URL=${withoutSecrets(url)}): ${(err as Error).message}`, { cause: err });
  } finally {
    await client.end();
  }
}

/** The URL as a message may show it: no password, no query string (which may carry one). */
export function withoutSecrets(url: string): string {
  const u = new URL(url);
  const user = u.username ? `${u.username}@` : '';
  return `${u.protocol}//${user}${u.host}${u.pathname}`;
}

const migrationSource = (url: string) => new DataSource({ type: 'postgres', url, migrations: MIGRATIONS, migrationsTableName: 'schema_migrations', logging: false });

/** Applies pending migrations with TypeORM's runner; safe to call from several processes at once. */
export async function runMigrations(url: string): Promise<string[]> {
  const source = migrationSource(url);
  await source.initialize();
  try {
    // Serialise concurrent starters (api and worker booting together) on an advisory lock.
    const lock = source.createQueryRunner();
    await lock.connect();
    await lock.query('SELECT pg_advisory_lock(7428001)');
    try {
      const applied = await source.runMigrations({ transaction: 'each' });
      return applied.map((m) => m.name);
    } finally {
      await lock.query('SELECT pg_advisory_unlock(7428001)');
      await lock.release();
    }
  } finally {
    await source.destroy();
  }
}

/**
 * Undoes the migrations down to and including `name`, the later ones first (each in its own transaction): what the
 * migration tests use to fill a database as it was before a migration, then run it on that data.
 */
export async function undoMigrationsThrough(url: string, name: string): Promise<void> {
  const source = migrationSource(url);
  await source.initialize();
  try {
    const applied = async () => ((await source.query(`SELECT 1 FROM schema_migrations WHERE name = $1`, [name])) as unknown[]).length > 0;
    while (await applied()) await source.undoLastMigration({ transaction: 'each' });
  } finally {
    await source.destroy();
  }
}
