import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits: strong enough that a plain sha256 (no salt, no slow hash) is a safe lookup key. */
export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = `fk_${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, 10) };
}

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');
