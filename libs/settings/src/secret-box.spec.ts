import { randomBytes } from 'node:crypto';
import { ConfigService } from '@nestjs/config';
import { DEFAULT_SETTINGS, OrgSettingsWithSecret } from './domain/settings';
import { SettingsInitialized, SigningSecretRotated } from './domain/settings.events';
import { generateSigningSecret } from './domain/signing-secret';
import { parseSecretKeys, SecretBox, SecretKeyMissingError } from './secret-box';

const key = () => randomBytes(32).toString('base64');
const box = (...keys: string[]) => new SecretBox(new ConfigService({ SECRET_KEYS: keys.join(',') }));
const ORG = '5f0c3c1e-1111-4222-8333-944445555666';

describe(SecretBox.name, () => {
  const secret = generateSigningSecret();

  it('should seal a secret so that the stored text does not hold it, and open it again', () => {
    const b = box(key());
    const sealed = b.seal(ORG, secret);
    expect(sealed).toMatch(/^enc:v1:[0-9a-f]{8}:/);
    expect(sealed).not.toContain(secret.slice(6));
    expect(b.seal(ORG, secret)).not.toBe(sealed); // a fresh IV each time
    expect(b.open(ORG, sealed)).toBe(secret);
    expect(b.seal(ORG, sealed)).toBe(sealed); // sealed already: left as it is
  });

  it("should not open a secret under another organization's id, nor one altered in the store", () => {
    const b = box(key());
    const sealed = b.seal(ORG, secret);
    expect(() => b.open('7a1b2c3d-0000-4000-8000-000000000000', sealed)).toThrow();
    const body = Buffer.from(sealed.split(':')[3], 'base64');
    body[20] ^= 1;
    expect(() => b.open(ORG, `${sealed.split(':').slice(0, 3).join(':')}:${body.toString('base64')}`)).toThrow();
  });

  it('should open with any listed key and seal with the first: keys rotate by putting the new one first', () => {
    const [a, b] = [key(), key()];
    const sealedWithA = box(a).seal(ORG, secret);
    const rotated = box(b, a);
    expect(rotated.open(ORG, sealedWithA)).toBe(secret);
    const sealedWithB = rotated.seal(ORG, secret);
    expect(sealedWithB.split(':')[2]).not.toBe(sealedWithA.split(':')[2]);
    expect(box(b).open(ORG, sealedWithB)).toBe(secret);
    expect(() => box(b).open(ORG, sealedWithA)).toThrow(SecretKeyMissingError);
    // what a write carries over (the replaced secret of a rotation) moves to the new key
    const carried = rotated.seal(ORG, sealedWithA);
    expect(carried.split(':')[2]).toBe(sealedWithB.split(':')[2]);
    expect(box(b).open(ORG, carried)).toBe(secret);
  });

  it("should leave out a replaced secret that does not open, show a current one that does not open as a notice, and refuse to sign with it", () => {
    const [a, b] = [key(), key()];
    const sealed = box(a).seal(ORG, secret);
    const previous = { secret: box(a).seal(ORG, generateSigningSecret()), expiresAt: '2030-01-01T00:00:00.000Z' };
    const settings: OrgSettingsWithSecret = { ...DEFAULT_SETTINGS, signingSecret: sealed, previousSigningSecret: previous };
    const lost = box(b);
    expect(() => lost.openSettings(ORG, settings)).toThrow(/which SECRET_KEYS does not list/);
    const shown = lost.openSettings(ORG, settings, 'show');
    expect(shown.signingSecret).toMatch(/^\[sealed with key [0-9a-f]{8}, which SECRET_KEYS does not list: rotate the signing secret\]$/);
    expect(shown.previousSigningSecret).toBeUndefined();
    // a rotation carries the unopenable secret over as it is, rather than failing for want of it
    expect(lost.seal(ORG, sealed)).toBe(sealed);
    const fresh = generateSigningSecret();
    expect(lost.openSettings(ORG, { ...settings, signingSecret: lost.seal(ORG, fresh) })).toEqual({ ...DEFAULT_SETTINGS, signingSecret: fresh });
  });

  it('should write and read secrets in clear without keys, and read a clear one as it is with keys', () => {
    expect(box().sealing).toBe(false);
    expect(box().seal(ORG, secret)).toBe(secret);
    expect(box().open(ORG, secret)).toBe(secret);
    expect(box(key()).open(ORG, secret)).toBe(secret);
  });

  it('should seal the secrets settings events make or carry, and open settings holding them', () => {
    const b = box(key());
    const settings: OrgSettingsWithSecret = { ...DEFAULT_SETTINGS, signingSecret: secret };
    const previous = { secret: generateSigningSecret(), expiresAt: '2030-01-01T00:00:00.000Z' };
    const [init, rotated] = b.sealEvents(ORG, [
      { type: SettingsInitialized, data: { settings } },
      { type: SigningSecretRotated, data: { signingSecret: secret, previousSigningSecret: previous } },
    ]);
    expect(JSON.stringify([init, rotated])).not.toContain(secret.slice(6));
    expect(JSON.stringify(rotated)).not.toContain(previous.secret.slice(6));
    const stored = { ...settings, signingSecret: (rotated.data as { signingSecret: string }).signingSecret, previousSigningSecret: (rotated.data as { previousSigningSecret: typeof previous }).previousSigningSecret };
    expect(b.openSettings(ORG, stored)).toEqual({ ...settings, previousSigningSecret: previous });
    expect(box().sealEvents(ORG, [{ type: SettingsInitialized, data: { settings } }])).toEqual([{ type: SettingsInitialized, data: { settings } }]);
  });
});

describe(parseSecretKeys.name, () => {
  it('should take comma-separated base64 keys of 32 bytes and refuse anything else, naming the variable', () => {
    expect(parseSecretKeys(undefined)).toEqual([]);
    expect(parseSecretKeys(' ')).toEqual([]);
    expect(parseSecretKeys(`${key()}, ${key()}`)).toHaveLength(2);
    expect(() => parseSecretKeys('not-a-key')).toThrow(/^SECRET_KEYS: key 1 must be the base64 of 32 bytes/);
    expect(() => parseSecretKeys(`${key()},${randomBytes(16).toString('base64')}`)).toThrow(/key 2/);
  });
});
