import { Client } from 'pg';
import { createTestDatabase } from '@app/testing';
import { pgArrayLiteral } from './pg-array';

/** What Postgres reads back from the literal, against what node-postgres's own conversion of the array gives it. */
describe(pgArrayLiteral.name, () => {
  let client: Client;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    client = new Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await drop?.();
  });

  const texts: (string | null)[][] = [
    [],
    ['contact-0c51fa1d-72dc-436f-ac35-446d0c2d17f2', 'CallLogged', 'call:abc:Busy:1'],
    ['', ' ', 'a b', 'a,b', '{x}', 'say "hi"', 'back\\slash', '\\"', 'NULL', 'null', 'Null', 'ünïcødé', 'tab\there', 'new\nline'],
    [null, 'x', null],
  ];

  it.each(texts.map((t) => [JSON.stringify(t), t]))('should give Postgres the text array %s as it is', async (_, values) => {
    const ours = await client.query<{ a: (string | null)[] }>('SELECT $1::text[] AS a', [pgArrayLiteral(values)]);
    const theirs = await client.query<{ a: (string | null)[] }>('SELECT $1::text[] AS a', [values]);
    expect(ours.rows[0].a).toEqual(values);
    expect(ours.rows[0].a).toEqual(theirs.rows[0].a);
  });

  it('should give Postgres numbers and UUIDs as bigint[], int[] and uuid[]', async () => {
    const { rows } = await client.query('SELECT $1::bigint[] AS b, $2::int[] AS i, $3::uuid[] AS u', [
      pgArrayLiteral([0, -1, 9007199254740991, null]),
      pgArrayLiteral([1, 2, 3]),
      pgArrayLiteral(['0c51fa1d-72dc-436f-ac35-446d0c2d17f2', null]),
    ]);
    expect(rows[0]).toEqual({ b: ['0', '-1', '9007199254740991', null], i: [1, 2, 3], u: ['0c51fa1d-72dc-436f-ac35-446d0c2d17f2', null] });
  });
});
