import { ConfigurationError, validateEnvironment } from './environment';

describe(validateEnvironment.name, () => {
  it('should apply the documented defaults when nothing is set', () => {
    const env = validateEnvironment({});
    expect({ PORT: env.PORT, DATABASE_URL: env.DATABASE_URL, REDIS_URL: env.REDIS_URL }).toEqual({
      PORT: 3000,
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/followups',
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
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
