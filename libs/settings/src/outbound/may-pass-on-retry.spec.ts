import { mayPassOnRetry, retryAfter } from './outbound-http';

describe('mayPassOnRetry', () => {
  const answered = (status: number) => ({ ok: status >= 200 && status < 300, status, error: `HTTP ${status}` });

  it('should say an answer meaning "later" may pass: 408, 425, 429 and every 5xx', () => {
    for (const status of [408, 425, 429, 500, 502, 503, 504, 599]) expect({ status, may: mayPassOnRetry(answered(status)) }).toEqual({ status, may: true });
  });

  it('should say any other answer will not: 2xx (taken), 3xx (not followed), the other 4xx', () => {
    for (const status of [200, 204, 301, 302, 400, 401, 403, 404, 410, 413, 422]) expect({ status, may: mayPassOnRetry(answered(status)) }).toEqual({ status, may: false });
  });

  it('should say no answer may pass (a timeout, a refused connection, a name that did not resolve), but not a request refused before it left', () => {
    expect(mayPassOnRetry({ ok: false, status: null, error: 'timed out after 10000 ms' })).toBe(true);
    expect(mayPassOnRetry({ ok: false, status: null, error: 'request failed: ECONNREFUSED' })).toBe(true);
    expect(mayPassOnRetry({ ok: false, status: null, error: 'refused: url must use https', permanent: true })).toBe(false);
  });
});

describe('retryAfter (a Retry-After header, as milliseconds from now)', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');

  it('should read seconds and HTTP dates, at most an hour, and a date past as now', () => {
    expect(retryAfter('120', now)).toBe(120_000);
    expect(retryAfter(' 0 ', now)).toBe(0);
    expect(retryAfter('Mon, 07 Dec 2026 12:05:00 GMT', now)).toBe(300_000);
    expect(retryAfter('Mon, 07 Dec 2026 11:00:00 GMT', now)).toBe(0);
    expect(retryAfter('86400', now)).toBe(3_600_000);
    expect(retryAfter(['30', '60'], now)).toBe(30_000);
  });

  it('should ignore a header that is absent, empty or unreadable', () => {
    for (const header of [undefined, '', 'soon', '-5', '1.5']) expect({ header, ms: retryAfter(header, now) }).toEqual({ header, ms: undefined });
  });
});
