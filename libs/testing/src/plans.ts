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
  const walk = (node: Record<string, any>) => {
    if (node['Index Name']) indexes.add(node['Index Name']);
    if (node['Node Type'] === 'Seq Scan') seqScans.add(node['Relation Name']);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(rows[0]['QUERY PLAN'][0].Plan);
  return { indexes, seqScans };
}
