import { StatementBatch } from './statement-batch';

const stmt = (text: string, writes: string[], reads: string[] = [], values: unknown[] = ['v']) => ({ text, values, writes, reads });

describe('StatementBatch', () => {
  it('should send writes to different tables as one statement of CTEs, with the parameters renumbered in order', () => {
    const batch = new StatementBatch();
    batch.add(stmt('INSERT INTO calls SELECT * FROM jsonb_to_recordset($1::jsonb)', ['calls'], [], ['calls-json']));
    batch.add(stmt('UPDATE contacts SET x = $1 WHERE id = ANY ($2::uuid[]) AND y = $1', ['contacts'], [], ['patch', ['id-1']]));
    expect(batch.plan()).toEqual([
      {
        text: 'WITH s0 AS (INSERT INTO calls SELECT * FROM jsonb_to_recordset($1::jsonb)),\ns1 AS (UPDATE contacts SET x = $2 WHERE id = ANY ($3::uuid[]) AND y = $2)\nSELECT 1',
        values: ['calls-json', 'patch', ['id-1']],
      },
    ]);
  });

  it("should start a new statement when a write touches a table the group already writes (no CTE sees another one's rows)", () => {
    const batch = new StatementBatch();
    batch.add(stmt('INSERT INTO contacts $1', ['contacts']));
    batch.add(stmt('INSERT INTO follow_ups $1', ['follow_ups']));
    batch.add(stmt('UPDATE contacts $1', ['contacts']));
    batch.add(stmt('INSERT INTO calls $1', ['calls']));
    expect(batch.plan().map((s) => s.text)).toEqual([
      'WITH s0 AS (INSERT INTO contacts $1),\ns1 AS (INSERT INTO follow_ups $2)\nSELECT 1',
      'WITH s0 AS (UPDATE contacts $1),\ns1 AS (INSERT INTO calls $2)\nSELECT 1',
    ]);
  });

  it('should start a new statement when a statement reads a table the group writes, and keep the order', () => {
    const batch = new StatementBatch();
    batch.add(stmt('INSERT INTO follow_ups $1', ['follow_ups']));
    batch.add(stmt('INSERT INTO calls $1', ['calls']));
    batch.add(stmt('UPDATE contacts FROM follow_ups $1', ['contacts'], ['follow_ups']));
    batch.add(stmt('INSERT INTO lead_reassignments $1', ['lead_reassignments']));
    expect(batch.plan().map((s) => s.text)).toEqual([
      'WITH s0 AS (INSERT INTO follow_ups $1),\ns1 AS (INSERT INTO calls $2)\nSELECT 1',
      'WITH s0 AS (UPDATE contacts FROM follow_ups $1),\ns1 AS (INSERT INTO lead_reassignments $2)\nSELECT 1',
    ]);
  });

  it('should start a new statement when a write touches a table the group reads', () => {
    const batch = new StatementBatch();
    batch.add(stmt('UPDATE contacts FROM follow_ups $1', ['contacts'], ['follow_ups']));
    batch.add(stmt('UPDATE follow_ups $1', ['follow_ups']));
    expect(batch.plan().map((s) => s.text)).toEqual(['UPDATE contacts FROM follow_ups $1', 'UPDATE follow_ups $1']);
  });

  it('should send a lone statement as it is, and nothing for an empty batch', () => {
    const batch = new StatementBatch();
    expect(batch.plan()).toEqual([]);
    batch.add(stmt('UPDATE contacts SET a = $1', ['contacts'], [], [1]));
    expect(batch.plan()).toEqual([{ text: 'UPDATE contacts SET a = $1', values: [1] }]);
  });

  it("should give the statements as CTEs numbered after a leading statement's parameters when they fit in one statement", () => {
    const batch = new StatementBatch([
      stmt('INSERT INTO calls SELECT * FROM jsonb_to_recordset($1::jsonb)', ['calls'], [], ['calls-json']),
      stmt('UPDATE contacts SET x = $1 WHERE id = ANY ($2::uuid[])', ['contacts'], [], ['patch', ['id-1']]),
    ]);
    expect(batch.asCtes(8)).toEqual({
      ctes: ['s0 AS (INSERT INTO calls SELECT * FROM jsonb_to_recordset($9::jsonb))', 's1 AS (UPDATE contacts SET x = $10 WHERE id = ANY ($11::uuid[]))'],
      values: ['calls-json', 'patch', ['id-1']],
    });
    expect(new StatementBatch().asCtes(8)).toEqual({ ctes: [], values: [] });
  });

  it('should refuse to make one statement of writes that need two', () => {
    const batch = new StatementBatch([stmt('INSERT INTO follow_ups $1', ['follow_ups']), stmt('UPDATE contacts $1', ['contacts'], ['follow_ups'])]);
    expect(batch.asCtes(8)).toBeNull();
  });
});
