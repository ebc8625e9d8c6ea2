import { createHash } from 'node:crypto';

/**
 * The request a keyed write was made with, as a canonical JSON text: object members sorted by name at every depth, so
 * the order a client's serializer wrote them in does not matter; members that are null or absent left out, because
 * for every field of the creations that take an Idempotency-Key null and absent say the same (none, the default);
 * arrays kept in order (tags ['a', 'b'] and ['b', 'a'] are two payloads). Values are compared as validated, not as the
 * domain would normalise them: ' Sarah ' and 'Sarah' are two payloads, as the draft compares payloads.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * SHA-256 (hex) of the canonical JSON of a request's fields: stored with the events of a keyed write and compared
 * when the key comes again, to tell a retry from a key reused for another request. Changing the canonical form
 * would make every retry of a record stored before the change a mismatch (422): it must not change.
 */
export function requestFingerprint(fields: Readonly<Record<string, unknown>>): string {
  return createHash('sha256').update(canonicalJson(fields)).digest('hex');
}
