import { Pool, PoolClient, QueryResultRow, types } from 'pg';

// int8 and numeric come back as strings by default; counts and positions in this product fit in a JS number
// except global positions and transaction ids, which we keep as strings on purpose (see event-store).
types.setTypeParser(types.builtins.INT8, (v) => Number(v));

/** The subset of a pg client that projections and repositories need: lets one code path run in or out of a transaction. */
export interface Sql {
  query<R extends QueryResultRow = any>(text: string | { text: string; name?: string; values?: unknown[] }, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

/**
 * Plain SQL over one pg pool. We use pg directly rather than TypeORM's repositories on the hot paths:
 * the event store and the projections are hand-written SQL that must stay reviewable and fast;
 * TypeORM runs the schema migrations (see migrate.ts).
 */
export class Database implements Sql {
  readonly pool: Pool;

  constructor(url: string, max = 20) {
    // TCP keepalives: a connection to a server that vanished without closing it (a failover that black-holes the old
    // address) fails within minutes instead of waiting on the operating system's default of two hours.
    this.pool = new Pool({ connectionString: url, max, application_name: 'followup-engine', keepAlive: true, keepAliveInitialDelayMillis: 30_000 });
    // An idle client dropped by the server must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
    // A client checked out of the pool has no listener of the pool's: cut while checked out (a transaction under way, a
    // consumer's round), it emitted 'error' unheard and ended the process (test/crash-recovery.e2e-spec.ts). Its query
    // fails instead, and the pool drops it on release (pg-pool does not reuse a client that is no longer queryable).
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  query<R extends QueryResultRow = any>(text: string | { text: string; name?: string; values?: unknown[] }, values?: unknown[]) {
    return this.pool.query<R>(text as any, values as any);
  }

  /** Runs fn inside BEGIN/COMMIT on one client; rolls back on any error. */
  async transaction<T>(fn: (tx: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Whether an error says the database could not be reached or dropped the connection (a restart, a failover,
 * terminated backends, a full connection table), not that a statement was wrong: SQLSTATE class 08 (connection
 * exception), 57P01-57P03 (shut down, cannot connect now), 53300 (too many connections), 53200 (out of memory: the
 * server's lock table full, see StreamLockBudget; a statement that waits its turn then runs), a database not accepting
 * connections, and node-postgres's own errors for a cut or unopenable connection.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300', '53200'].includes(code)) return true;
  if (code === '55000' && message.includes('not currently accepting connections')) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(code)) return true;
  return /^Connection terminated|^timeout exceeded when trying to connect|^Client has encountered a connection error/.test(message);
}
