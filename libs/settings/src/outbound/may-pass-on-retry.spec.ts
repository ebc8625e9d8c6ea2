import { mayPassOnRetry } from './outbound-http';

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
