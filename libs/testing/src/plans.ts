import { QueryResultRow } from 'pg';
import { Database } from '@app/shared';

/**
 * What the plan of one statement reads, by EXPLAIN (FORMAT JSON) with the values it ran with: every index it walks, and
 * every table it reads whole (a Seq Scan). For tests that a list is answered from an index on a table large enough for
 * the planner to choose as it would in production.
 */
export async function planReads(db: Database, text: string, values: unknown[]): Promise<{ indexes: Set<string>; seqScans: Set<string> }> {
  const { rows } = await db.query(`EXPLAIN (FORMAT JSON) ${text}`, values);
  const indexes = new Set<string>();
  const seqScans = new Set<string>();
  type PlanNode = { 'Index Name'?: string; 'Node Type': string; 'Relation Name'?: string; Plans?: PlanNode[] };
  const walk = (node: PlanNode) => {
    if (node['Index Name']) indexes.add(node['Index Name']);
    if (node['Node Type'] === 'Seq Scan' && node['Relation Name']) seqScans.add(node['Relation Name']);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(rows[0]['QUERY PLAN'][0].Plan);
  return { indexes, seqScans };
}

/** A statement as the database was asked to run it. */
export interface RanStatement {
  readonly text: string;
  readonly values: unknown[];
}

/**
 * Records, from now until `stop()`, every statement run through `db` whose text matches `pattern` (the real database
 * still runs them all): to EXPLAIN afterwards exactly what a request sent.
 */
export function recordStatements(db: Database, pattern: RegExp): { ran: RanStatement[]; stop: () => void } {
  const ran: RanStatement[] = [];
  const original = db.query;
  const run = original.bind(db) as Database['query'];
  db.query = function recording<R extends QueryResultRow>(text: Parameters<Database['query']>[0], values?: unknown[]) {
    const sql = typeof text === 'string' ? text : text.text;
    if (pattern.test(sql)) ran.push({ text: sql, values: values ?? (typeof text === 'string' ? undefined : text.values) ?? [] });
    return run<R>(text, values);
  };
  return { ran, stop: () => void (db.query = original) };
}
