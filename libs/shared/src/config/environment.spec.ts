import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError, Environment, validateEnvironment } from './environment';

describe(validateEnvironment.name, () => {
  it('should apply the documented defaults when nothing is set', () => {
    const env = validateEnvironment({});
    expect({ PORT: env.PORT, DATABASE_URL: env.DATABASE_URL, REDIS_URL: env.REDIS_URL }).toEqual({
      PORT: 3000,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/followups',
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
  });

  it.each(['10.0.0.0/40', '300.1.2.3/8', 'fc00::/129', '10.0.0.0', 'localhost/8', '10.0.0.0/8,'])('should refuse OUTBOUND_PRIVATE_NETWORKS=%s naming it, at validation not later', (networks) => {
    expect(() => validateEnvironment({ OUTBOUND_PRIVATE_NETWORKS: networks })).toThrow(/OUTBOUND_PRIVATE_NETWORKS=/);
  });

  it.each(['1', '2', '1.2.3.4/99', '::::', '10.0.0', 'none', 'proxy.internal'])('should refuse TRUST_PROXY=%s naming it: addresses and networks only', (value) => {
    expect(() => validateEnvironment({ TRUST_PROXY: value })).toThrow(/TRUST_PROXY=/);
  });

  it('should take TRUST_PROXY of addresses and networks, or nothing', () => {
    for (const value of ['', '127.0.0.1', '10.0.0.0/8, 192.168.1.5', 'fd00::/8,::1']) expect(validateEnvironment({ TRUST_PROXY: value }).TRUST_PROXY).toBe(value);
  });

  it('should take OUTBOUND_PRIVATE_NETWORKS of IPv4 and IPv6 networks, or none', () => {
    for (const networks of ['10.0.0.0/8, fc00::/7,::1/128', '192.168.1.10/32', 'none', ' none ']) {
      expect(validateEnvironment({ OUTBOUND_PRIVATE_NETWORKS: networks }).OUTBOUND_PRIVATE_NETWORKS).toBe(networks);
    }
  });

  it('should name every bad variable in one readable error', () => {
    expect(() => validateEnvironment({ PORT: 'abc', DATABASE_URL: 'mysql://x', REDIS_URL: 'http://r' })).toThrow(ConfigurationError);
    try {
      validateEnvironment({ PORT: 'abc', DATABASE_URL: 'mysql://x', REDIS_URL: 'http://r' });
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toMatch(/PORT="abc"/);
      expect(message).toMatch(/DATABASE_URL="mysql:\/\/x": DATABASE_URL must be a postgres:\/\/ URL/);
      expect(message).toMatch(/REDIS_URL="http:\/\/r"/);
    }
  });
});

/**
 * The README's configuration table is what operators set the service by: each variable it lists must have the
 * default it states and accept exactly the whole numbers of its range, and every variable the service reads
 * must be in it.
 */
describe("the README's configuration table", () => {
  const readme = readFileSync(join(__dirname, '../../../../README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `([A-Z_]+)` \| `([^`]*)`[^|]*\| ([^|]+) \|/gm)].map(([, name, fallback, allowed]) => ({ name, fallback, allowed: allowed.trim() }));
  const defaults = validateEnvironment({}) as unknown as Record<string, unknown>;
  const accepts = (name: string, value: string) => {
    try {
      validateEnvironment({ [name]: value });
      return true;
    } catch (err) {
      if (err instanceof ConfigurationError) return false;
      throw err;
    }
  };

  it('should list every variable the service reads', () => {
    expect(rows.map((r) => r.name).sort()).toEqual(Object.keys(new Environment()).filter((k) => k !== 'NODE_ENV').sort());
  });

  it.each(rows)('should state $name\'s default', ({ name, fallback }) => {
    expect(String(defaults[name])).toBe(fallback);
  });

  it.each(rows.filter((r) => /^[\d,]+–[\d,]+$/.test(r.allowed)))("should accept $name's range ($allowed) and nothing outside it", ({ name, allowed }) => {
    const [low, high] = allowed.split('–').map((n) => Number(n.replace(/,/g, '')));
    expect([low, high, low - 1, high + 1, low + 0.5].map((n) => [n, accepts(name, String(n))])).toEqual([
      [low, true],
      [high, true],
      [low - 1, false],
      [high + 1, false],
      [low + 0.5, false],
    ]);
  });
});

describe('whole-number and blank variables', () => {
  it.each([' ', '   ', '\t'])('should take %j, spaces alone, as unset: the default, as empty is', (blank) => {
    // RATE_LIMIT_REQUESTS=" " was 0 (the limit off) and PORT=" " a random port
    const env = validateEnvironment({ PORT: blank, RATE_LIMIT_REQUESTS: blank, SHUTDOWN_TIMEOUT_MS: blank, LOG_LEVEL: blank, TRUST_PROXY: blank, METRICS_TOKEN: blank });
    expect({ PORT: env.PORT, RATE_LIMIT_REQUESTS: env.RATE_LIMIT_REQUESTS, SHUTDOWN_TIMEOUT_MS: env.SHUTDOWN_TIMEOUT_MS, LOG_LEVEL: env.LOG_LEVEL, TRUST_PROXY: env.TRUST_PROXY, METRICS_TOKEN: env.METRICS_TOKEN }).toEqual({
      PORT: 3000,
      RATE_LIMIT_REQUESTS: 6000,
      SHUTDOWN_TIMEOUT_MS: 25_000,
      LOG_LEVEL: 'info',
      TRUST_PROXY: '',
      METRICS_TOKEN: '',
    });
  });

  it.each(['0x0CEB', '0b11', '0o17', '1e3', '3_000', '3,000', '3000.0', '+3000', '3000abc', 'Infinity', '٣٠٠٠'])('should refuse PORT=%s naming it: plain decimal digits only', (value) => {
    // Number() took 0x0CEB as 3307
    expect(() => validateEnvironment({ PORT: value })).toThrow(`PORT=${JSON.stringify(value)}: PORT must be a whole number in decimal digits`);
  });

  it('should take decimal digits, with spaces around them and leading zeros, as the number they spell', () => {
    expect(validateEnvironment({ PORT: ' 8080 ', RATE_LIMIT_REQUESTS: '0', STATE_CACHE_SIZE: '007' })).toMatchObject({ PORT: 8080, RATE_LIMIT_REQUESTS: 0, STATE_CACHE_SIZE: 7 });
  });

  it('should refuse a negative number by its range, naming the variable', () => {
    expect(() => validateEnvironment({ PORT: '-1' })).toThrow(/PORT="-1": PORT must not be less than 0/);
  });
});
