import { canonicalJson, requestFingerprint } from './request-fingerprint';

describe(requestFingerprint.name, () => {
  it('should give the same fingerprint when the members come in another order, at any depth', () => {
    const a = requestFingerprint({ name: 'Sarah Lee', phone: '+14155550123', tags: ['crm'], extra: { b: 1, a: 2 } });
    const b = requestFingerprint({ extra: { a: 2, b: 1 }, tags: ['crm'], phone: '+14155550123', name: 'Sarah Lee' });
    expect(b).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it('should give the same fingerprint when a field is null, undefined or absent', () => {
    const absent = requestFingerprint({ text: 'Hi' });
    expect(requestFingerprint({ text: 'Hi', campaignId: null })).toBe(absent);
    expect(requestFingerprint({ text: 'Hi', campaignId: undefined })).toBe(absent);
  });

  it('should give another fingerprint when a value differs, an array is in another order, or a type differs', () => {
    const base = requestFingerprint({ text: 'Hi', tags: ['a', 'b'], maxAttempts: 3 });
    expect(requestFingerprint({ text: 'Hi!', tags: ['a', 'b'], maxAttempts: 3 })).not.toBe(base);
    expect(requestFingerprint({ text: 'Hi', tags: ['b', 'a'], maxAttempts: 3 })).not.toBe(base);
    expect(requestFingerprint({ text: 'Hi', tags: ['a', 'b'], maxAttempts: '3' })).not.toBe(base);
    expect(requestFingerprint({ text: 'Hi', tags: ['a', 'b'], maxAttempts: 3, notes: 'x' })).not.toBe(base);
  });

  it('should not let a value pose as a member boundary when it holds quotes, commas or colons', () => {
    expect(requestFingerprint({ a: 'x","b":"y' })).not.toBe(requestFingerprint({ a: 'x', b: 'y' }));
  });
});

describe(canonicalJson.name, () => {
  it('should write members sorted by name, without null or absent ones, and arrays in order', () => {
    expect(canonicalJson({ z: [2, 1, null], a: { d: null, c: 'é' }, m: false, n: undefined })).toBe('{"a":{"c":"é"},"m":false,"z":[2,1,null]}');
  });
});
