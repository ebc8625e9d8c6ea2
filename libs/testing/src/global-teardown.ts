import { flushPrefix } from './redis-prefix';
import { withAdmin } from './test-database';

/** Drops this run's databases and Redis keys (a crashed file may have left some). */
export default async function globalTeardown(): Promise<void> {
  const prefix = `fu_test_${process.env.FU_TEST_RUN}_`;
  await withAdmin(async (c) => {
    const { rows } = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [prefix]);
    for (const r of rows) await c.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
  });
  await flushPrefix(prefix);
}
