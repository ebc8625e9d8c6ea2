import { runInNewContext } from 'node:vm';
import { Logger } from '@nestjs/common';
import { isRedisConnectionError, REDIS_OUTAGE_LOG_EVERY_MS, RedisOutageLog } from './redis-outage';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

describe(RedisOutageLog.name, () => {
  let warn: jest.SpyInstance;
  let debug: jest.SpyInstance;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-12-07T10:00:00Z') });
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('should warn once a minute for the whole process, counting the errors it left out, when Redis stays away', () => {
    // given a process whose two queues and two workers each report a refused connection every second
    const log = new RedisOutageLog();
    // when Redis stays away for 70 s
    for (let second = 0; second < 70; second++) {
      for (const source of [{ queue: 'follow-ups' }, { queue: 'maintenance' }, { worker: 'FollowUpsProcessor' }, { worker: 'MaintenanceProcessor' }]) {
        log.connectionError(refused(), source);
      }
      jest.advanceTimersByTime(1000);
    }
    // then two warn lines, not 280; the second says how many were left out; each error in full at debug
    expect(warn.mock.calls).toEqual([
      [expect.objectContaining({ queue: 'follow-ups', code: 'ECONNREFUSED', suppressed: 0 }), expect.stringMatching(/^Redis does not answer: connect ECONNREFUSED 127\.0\.0\.1:6379 \(connection errors are logged once a minute at most\)$/)],
      [expect.objectContaining({ suppressed: 239 }), expect.stringContaining('239 more since the last such line')],
    ]);
    expect(warn.mock.calls[0][0]).not.toHaveProperty('err'); // no stack trace at warn
    expect(debug).toHaveBeenCalledTimes(280);
    expect(debug).toHaveBeenCalledWith(expect.objectContaining({ err: expect.any(Error), queue: 'follow-ups' }), 'Redis connection error');
    expect(REDIS_OUTAGE_LOG_EVERY_MS).toBe(60_000);
  });

  it('should log connection errors at debug only when its level is debug (a CLI command, whose own message names Redis)', () => {
    const log = new RedisOutageLog('debug');
    log.connectionError(refused(), { queue: 'follow-ups' });
    log.say({}, 'Redis does not answer');
    expect(warn).not.toHaveBeenCalled();
    expect(debug).toHaveBeenCalledTimes(2);
  });
});

describe(isRedisConnectionError.name, () => {
  it.each([
    ['ECONNREFUSED', refused(), true],
    ['ETIMEDOUT', Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }), true],
    ['ENOTFOUND', Object.assign(new Error('getaddrinfo ENOTFOUND redis'), { code: 'ENOTFOUND' }), true],
    ['Connection is closed', new Error('Connection is closed.'), true],
    ['a script error', new Error('ERR Error running script (call to f_1234): @user_script:1: oops'), false],
    ['a missing job key', new Error('Missing key for job 42'), false],
    ['a string, not an Error', 'ECONNREFUSED', false],
    // an error of another realm (Node's net module, seen from jest's sandbox) is no `instanceof Error` there
    ['an error of another realm', runInNewContext("Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })"), true],
  ])('should tell a connection error from any other: %s', (_, err, expected) => {
    expect(isRedisConnectionError(err)).toBe(expected);
  });
});
