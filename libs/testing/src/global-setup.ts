import { randomBytes } from 'node:crypto';
import { runMigrations } from '../../shared/src/database/migrate';
import { templateName, urlFor, withAdmin } from './test-database';

/** Once per jest run: a migrated template database that every test file copies. */
export default async function globalSetup(): Promise<void> {
  process.env.FU_TEST_RUN = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const tpl = templateName();
  await withAdmin((c) => c.query(`CREATE DATABASE "${tpl}"`));
  await runMigrations(urlFor(tpl));
}
