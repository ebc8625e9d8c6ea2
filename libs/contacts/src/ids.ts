import { createHash } from 'node:crypto';

/**
 * A UUID derived from a key (name-based, like RFC 4122 v5): a retried push that schedules a follow-up gets the
 * same follow-up id every time, so the replay is exact.
 */
export function uuidFromKey(key: string): string {
  const h = createHash('sha1').update(key).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
