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
