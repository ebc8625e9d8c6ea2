/** Characters an element of an array literal may have and still go unquoted. */
const BARE = /^[A-Za-z0-9_.:-]+$/;

/**
 * A Postgres array literal (`{a,b,NULL}`) for a one-dimensional array of text or numbers, to send as the value of a
 * `text[]`, `uuid[]`, `int[]` or `bigint[]` parameter. node-postgres turns a JS array into the same literal, but it
 * quotes and escapes every element with two regular-expression replaces and concatenates the literal an element at a
 * time: for a 500-call batch's ids, versions, counts, types and keys that was 8 % of what the service allocated
 * (bench:ingest). Here an element made only of letters, digits and `_ . : -` (ids, UUIDs, event types, numbers) goes
 * as it is, the others quoted and escaped, and the literal is joined once. `NULL` spelled out is quoted, so it stays
 * text; a JS null or undefined is SQL NULL.
 */
export function pgArrayLiteral(values: readonly (string | number | bigint | null | undefined)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else {
      const s = typeof v === 'string' ? v : String(v);
      parts[i] = BARE.test(s) && (s.length !== 4 || s.toUpperCase() !== 'NULL') ? s : `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
    }
  }
  return `{${parts.join(',')}}`;
}

/**
 * An array parameter the planner cannot see into, for named statements that are kept per connection: `(SELECT
 * $n::type[])::type[]`, a sub-select run once an execution. Bare, the array is a constant in each custom plan
 * Postgres makes for a statement's first five executions, so a short one (a push naming one contact, a read of one
 * stream) costs less there than in the generic plan, which guesses ten elements; Postgres then keeps planning the
 * statement at every execution (0.25 ms of planning against 0.64 ms of execution for a push that schedules nothing,
 * pg_stat_statements, `BENCH_PUSH=single npm run bench:ingest-cost`). Behind the sub-select every plan costs the
 * same, and from the sixth execution Postgres keeps the generic one. Use it as `col = ANY (opaqueArray(…))` or in
 * `unnest(…)`; the plans are the same index probes either way.
 */
export function opaqueArray(param: string, type: string): string {
  return `(SELECT ${param}::${type}[])::${type}[]`;
}
