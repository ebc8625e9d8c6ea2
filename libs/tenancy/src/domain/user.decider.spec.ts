import { ConflictError, NotFoundError, ValidationError } from '@app/shared';
import { ApiKeyIssued, ApiKeyRevoked, UserCreated, UserCreatedData, UserEvent, UserUpdated } from './tenancy.events';
import { decideUser, evolveUser, initialUserState, MAX_LIVE_API_KEYS, UserState } from './user.decider';

const user: UserCreatedData = {
  userId: 'u1',
  orgId: 'o1',
  name: 'Ana',
  email: null,
  role: 'agent',
  branch: null,
  department: null,
  timezone: 'UTC',
};
const given = (events: UserEvent[]): UserState => events.reduce(evolveUser, initialUserState);
const created: UserEvent = { type: UserCreated, data: user };
const issued: UserEvent = { type: ApiKeyIssued, data: { keyId: 'k1', userId: 'u1', keyHash: 'h', prefix: 'fk_abc' } };

describe('decideUser', () => {
  it('should create a user when none exists', () => {
    expect(decideUser({ type: 'CreateUser', user }, given([]))).toEqual([created]);
  });

  it('should refuse to create a user twice', () => {
    expect(() => decideUser({ type: 'CreateUser', user }, given([created]))).toThrow(ConflictError);
  });

  it('should refuse a key for a user that does not exist', () => {
    expect(() => decideUser({ type: 'IssueApiKey', userId: 'u1', keyId: 'k1', keyHash: 'h', prefix: 'p', name: null }, given([]))).toThrow(NotFoundError);
  });

  it('should issue another key, with its name, to a user who has one', () => {
    const second = { type: 'IssueApiKey' as const, userId: 'u1', keyId: 'k2', keyHash: 'h2', prefix: 'fk_def', name: 'dialler 2026' };
    expect(decideUser(second, given([created, issued]))).toEqual([
      { type: ApiKeyIssued, data: { keyId: 'k2', userId: 'u1', keyHash: 'h2', prefix: 'fk_def', name: 'dialler 2026' } },
    ]);
  });

  it('should refuse a key for a deactivated user, and issue one again once they are reactivated', () => {
    const deactivated: UserEvent = { type: UserUpdated, data: { userId: 'u1', changes: { active: false } } };
    const issue = { type: 'IssueApiKey' as const, userId: 'u1', keyId: 'k2', keyHash: 'h2', prefix: 'p', name: null };
    expect(() => decideUser(issue, given([created, deactivated]))).toThrow(ConflictError);
    const reactivated: UserEvent = { type: UserUpdated, data: { userId: 'u1', changes: { active: true } } };
    expect(decideUser(issue, given([created, deactivated, reactivated]))).toHaveLength(1);
  });

  it('should refuse a key past MAX_LIVE_API_KEYS unrevoked ones, and issue it once one of them is revoked', () => {
    const keys = Array.from({ length: MAX_LIVE_API_KEYS }, (_, i): UserEvent => ({ type: ApiKeyIssued, data: { keyId: `k${i}`, userId: 'u1', keyHash: `h${i}`, prefix: 'p' } }));
    const issue = { type: 'IssueApiKey' as const, userId: 'u1', keyId: 'next', keyHash: 'hn', prefix: 'p', name: null };
    expect(() => decideUser(issue, given([created, ...keys]))).toThrow(ConflictError);
    expect(() => decideUser(issue, given([created, ...keys]))).toThrow(`holds ${MAX_LIVE_API_KEYS} unrevoked API keys`);
    expect(decideUser(issue, given([created, ...keys, { type: ApiKeyRevoked, data: { keyId: 'k3', userId: 'u1' } }]))).toHaveLength(1);
    expect(decideUser(issue, given([created, ...keys.slice(1)]))).toHaveLength(1);
  });

  it('should revoke one key and leave the user\'s other keys live', () => {
    const second: UserEvent = { type: ApiKeyIssued, data: { keyId: 'k2', userId: 'u1', keyHash: 'h2', prefix: 'fk_def', name: null } };
    const state = given([created, issued, second, { type: ApiKeyRevoked, data: { keyId: 'k1', userId: 'u1' } }]);
    expect([...state.keys]).toEqual([
      ['k1', { revoked: true }],
      ['k2', { revoked: false }],
    ]);
    expect(decideUser({ type: 'RevokeApiKey', userId: 'u1', keyId: 'k2' }, state)).toEqual([{ type: ApiKeyRevoked, data: { keyId: 'k2', userId: 'u1' } }]);
  });

  it('should revoke an issued key once and then record nothing more', () => {
    const revoke = { type: 'RevokeApiKey' as const, userId: 'u1', keyId: 'k1' };
    expect(decideUser(revoke, given([created, issued]))).toEqual([{ type: ApiKeyRevoked, data: { keyId: 'k1', userId: 'u1' } }]);
    expect(decideUser(revoke, given([created, issued, { type: ApiKeyRevoked, data: { keyId: 'k1', userId: 'u1' } }]))).toEqual([]);
  });

  it('should answer not found when revoking a key the user never had', () => {
    expect(() => decideUser({ type: 'RevokeApiKey', userId: 'u1', keyId: 'nope' }, given([created]))).toThrow(NotFoundError);
  });

  it('should record only the fields that really change when a user is updated', () => {
    const update = { type: 'UpdateUser' as const, userId: 'u1', changes: { name: 'Ana', branch: 'North', active: false } };
    expect(decideUser(update, given([created]))).toEqual([{ type: UserUpdated, data: { userId: 'u1', changes: { branch: 'North', active: false } } }]);
  });

  it('should record nothing when an update changes nothing, and apply updates to the profile', () => {
    const moved = given([created, { type: UserUpdated, data: { userId: 'u1', changes: { branch: 'North', active: false } } }]);
    expect(moved.profile).toMatchObject({ branch: 'North', active: false, name: 'Ana' });
    expect(decideUser({ type: 'UpdateUser', userId: 'u1', changes: { branch: 'North', active: false } }, moved)).toEqual([]);
    expect(decideUser({ type: 'UpdateUser', userId: 'u1', changes: { branch: null } }, moved)).toEqual([
      { type: UserUpdated, data: { userId: 'u1', changes: { branch: null } } },
    ]);
  });

  it('should take a zone sent again as stored, one taken before only IANA names were, and refuse a new such zone', () => {
    const legacy = given([created, { type: UserUpdated, data: { userId: 'u1', changes: { timezone: 'PST' } } }]);
    expect(decideUser({ type: 'UpdateUser', userId: 'u1', changes: { timezone: 'PST', branch: 'North' } }, legacy)).toEqual([
      { type: UserUpdated, data: { userId: 'u1', changes: { branch: 'North' } } },
    ]);
    expect(() => decideUser({ type: 'UpdateUser', userId: 'u1', changes: { timezone: 'BST' } }, legacy)).toThrow(ValidationError);
    expect(decideUser({ type: 'UpdateUser', userId: 'u1', changes: { timezone: 'America/Los_Angeles' } }, legacy)).toHaveLength(1);
  });

  it('should answer not found when updating a user that does not exist', () => {
    expect(() => decideUser({ type: 'UpdateUser', userId: 'u1', changes: { active: false } }, given([]))).toThrow(NotFoundError);
  });
});
