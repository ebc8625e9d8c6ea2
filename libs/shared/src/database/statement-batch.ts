import { Sql } from './database';

export interface BatchedStatement {
  readonly text: string;
  readonly values: readonly unknown[];
  /** Tables the statement reads besides the one it writes (the planner's snapshot is per statement). */
  readonly reads?: readonly string[];
  readonly writes: readonly string[];
}

/**
 * Writes that a projection would send one by one, sent as few statements as their dependencies allow: the
 * consecutive ones that touch different tables go as one statement of data-modifying CTEs (one round trip).
 * A statement that writes a table an earlier one of the group reads or writes, or reads one it writes, starts
 * the next statement, because every CTE of a statement sees the same snapshot and none sees another's rows.
 * Order is kept; within one statement Postgres runs each CTE exactly once, to completion.
 *
 * Written here rather than taken from a library: node-postgres has no pipelining, and a round trip on a busy
 * host is the larger part of a small write's cost (a profile of single call pushes: a third of the service's CPU
 * in socket writes).
 */
export class StatementBatch {
  private readonly statements: BatchedStatement[] = [];

  constructor(statements: readonly BatchedStatement[] = []) {
    this.statements.push(...statements);
  }

  add(statement: BatchedStatement): void {
    this.statements.push(statement);
  }

  /** The statements as they will be sent: text and values, with each CTE's parameters renumbered. */
  plan(): { text: string; values: unknown[] }[] {
    return this.groups().map((g) => (g.length === 1 ? { text: g[0].text, values: [...g[0].values] } : combine(g)));
  }

  /**
   * All the statements as CTEs of one statement whose own parameters are the first `offset` ones (`$1`…`$offset`),
   * or null when they clash (see the class comment) and need more than one statement.
   */
  asCtes(offset: number): { ctes: string[]; values: unknown[] } | null {
    const groups = this.groups();
    if (groups.length > 1) return null;
    return renumber(groups[0] ?? [], offset);
  }

  private groups(): BatchedStatement[][] {
    const groups: BatchedStatement[][] = [];
    let group: BatchedStatement[] = [];
    const written = new Set<string>();
    const touched = new Set<string>();
    for (const s of this.statements) {
      const clash = s.writes.some((t) => touched.has(t)) || (s.reads ?? []).some((t) => written.has(t));
      if (clash) {
        groups.push(group);
        group = [];
        written.clear();
        touched.clear();
      }
      group.push(s);
      for (const t of s.writes) {
        written.add(t);
        touched.add(t);
      }
      for (const t of s.reads ?? []) touched.add(t);
    }
    if (group.length) groups.push(group);
    return groups;
  }

  async run(sql: Sql): Promise<void> {
    for (const s of this.plan()) await sql.query(s.text, s.values);
  }
}

function combine(group: readonly BatchedStatement[]): { text: string; values: unknown[] } {
  const { ctes, values } = renumber(group, 0);
  return { text: `WITH ${ctes.join(',\n')}\nSELECT 1`, values };
}

/** Each statement as a CTE `s<i>`, its parameters numbered after `offset` and those of the statements before it. */
function renumber(group: readonly BatchedStatement[], offset: number): { ctes: string[]; values: unknown[] } {
  const values: unknown[] = [];
  const ctes = group.map((s, i) => {
    const before = offset + values.length;
    values.push(...s.values);
    // Parameters are the only `$<digits>` in our statements (no dollar-quoted bodies, no literals holding one).
    const text = s.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + before}`);
    return `s${i} AS (${text})`;
  });
  return { ctes, values };
}
