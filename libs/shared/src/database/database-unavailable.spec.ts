import { isDatabaseUnavailable } from './database';

/** A Postgres or node-postgres error as the driver raises it. */
const pgError = (code: string | undefined, message: string) => Object.assign(new Error(message), code ? { code } : {});

describe('isDatabaseUnavailable: what the API answers 503 (retry) rather than 500 (a fault of ours)', () => {
  it.each([
    ['57P01', 'terminating connection due to administrator command'],
    ['57P03', 'the database system is starting up'],
    ['53300', 'sorry, too many clients already'],
    ['53200', 'out of shared memory'],
    ['08006', 'connection failure'],
    ['55000', 'database "x" is not currently accepting connections'],
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'],
    [undefined, 'Connection terminated unexpectedly'],
    [undefined, 'timeout exceeded when trying to connect'],
  ])('should count %s (%s) as the database being unavailable', (code, message) => {
    expect(isDatabaseUnavailable(pgError(code, message))).toBe(true);
  });

  it.each([
    ['42601', 'syntax error at or near "SELEC"'],
    ['23505', 'duplicate key value violates unique constraint "calls_pkey"'],
    ['55000', 'object is not in prerequisite state'],
    ['22P02', 'invalid input syntax for type uuid'],
    [undefined, 'Cannot read properties of undefined'],
  ])('should not hide %s (%s), a fault of ours, behind a 503', (code, message) => {
    expect(isDatabaseUnavailable(pgError(code, message))).toBe(false);
  });

  it('should not count a value that is not an error', () => {
    expect([null, undefined, 'Connection terminated', 42].map(isDatabaseUnavailable)).toEqual([false, false, false, false]);
  });
});
