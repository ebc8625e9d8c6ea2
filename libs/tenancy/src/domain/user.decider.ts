import { ConflictError, isIanaTimeZone, NotFoundError, Role, ValidationError } from '@app/shared';
import { ApiKeyIssued, ApiKeyRevoked, UserCreated, UserCreatedData, UserEvent, UserUpdated, UserUpdatedData } from './tenancy.events';

export interface UserProfile {
  readonly name: string;
  readonly branch: string | null;
  readonly department: string | null;
  /** null: the organization's. */
  readonly timezone: string | null;
  readonly active: boolean;
}

export interface UserState {
  readonly exists: boolean;
  readonly keys: ReadonlyMap<string, { readonly revoked: boolean }>;
  readonly profile: UserProfile;
}

export const initialUserState: UserState = {
  exists: false,
  keys: new Map(),
  profile: { name: '', branch: null, department: null, timezone: null, active: true },
};

/** The fields an admin may change; absent means unchanged, null clears branch or department. */
export type UserChanges = { -readonly [K in keyof UserUpdatedData['changes']]?: UserUpdatedData['changes'][K] };

export type UserCommand =
  | { type: 'CreateUser'; user: UserCreatedData }
  | { type: 'IssueApiKey'; userId: string; keyId: string; keyHash: string; prefix: string; name: string | null }
  | { type: 'RevokeApiKey'; userId: string; keyId: string }
  | { type: 'UpdateUser'; userId: string; changes: UserChanges };

export function evolveUser(state: UserState, event: UserEvent): UserState {
  switch (event.type) {
    case UserCreated: {
      const d = event.data;
      return { ...state, exists: true, profile: { name: d.name, branch: d.branch, department: d.department, timezone: d.timezone, active: true } };
    }
    case UserUpdated:
      return { ...state, profile: { ...state.profile, ...event.data.changes } };
    case ApiKeyIssued:
      return { ...state, keys: new Map(state.keys).set(event.data.keyId, { revoked: false }) };
    case ApiKeyRevoked:
      return { ...state, keys: new Map(state.keys).set(event.data.keyId, { revoked: true }) };
  }
}

/**
 * Unrevoked keys a user may hold at once. Rotation needs two (the old one until every client has the new one); a
 * script that issues a key per run and never revokes would otherwise pile up secrets that all work.
 */
export const MAX_LIVE_API_KEYS = 20;

export function decideUser(command: UserCommand, state: UserState): UserEvent[] {
  switch (command.type) {
    case 'CreateUser':
      if (state.exists) throw new ConflictError(`user ${command.user.userId} exists already`);
      return [{ type: UserCreated, data: command.user }];
    case 'IssueApiKey': {
      if (!state.exists) throw new NotFoundError('user', command.userId);
      // a deactivated user's keys do not authenticate: a new one would be a secret that looks valid and is not
      if (!state.profile.active) throw new ConflictError(`user ${command.userId} is deactivated: reactivate them (PATCH active true) before issuing a key`);
      const live = [...state.keys.values()].filter((k) => !k.revoked).length;
      if (live >= MAX_LIVE_API_KEYS) {
        throw new ConflictError(`user ${command.userId} holds ${live} unrevoked API keys, the most a user may: revoke one (DELETE /api/api-keys/:id) before issuing another`);
      }
      const { keyId, userId, keyHash, prefix, name } = command;
      return [{ type: ApiKeyIssued, data: { keyId, userId, keyHash, prefix, name } }];
    }
    case 'RevokeApiKey': {
      const key = state.keys.get(command.keyId);
      if (!state.exists || !key) throw new NotFoundError('api key', command.keyId);
      if (key.revoked) return []; // revoking twice is not an error: the key is revoked either way
      return [{ type: ApiKeyRevoked, data: { keyId: command.keyId, userId: command.userId } }];
    }
    case 'UpdateUser': {
      if (!state.exists) throw new NotFoundError('user', command.userId);
      const changes: UserChanges = {};
      for (const key of ['name', 'branch', 'department', 'timezone', 'active'] as const) {
        const value = command.changes[key];
        if (value === undefined || value === state.profile[key]) continue;
        // a new zone must be an IANA name; the stored one sent again is no change (the API's DTO takes any zone Intl reads)
        if (key === 'timezone' && value !== null && !isIanaTimeZone(value)) throw new ValidationError('timezone', 'must be an IANA time zone such as Europe/London');
        (changes as Record<string, unknown>)[key] = value;
      }
      // a change to nothing new records nothing: PATCH is idempotent
      return Object.keys(changes).length === 0 ? [] : [{ type: UserUpdated, data: { userId: command.userId, changes } }];
    }
  }
}

export const ROLES_THAT_WORK_CONTACTS: readonly Role[] = ['agent'];

/** An admin may not deactivate themselves: another admin does it (the organization is never left without one by accident). */
export function refuseSelfDeactivation(actorId: string, userId: string, changes: { active?: unknown }): void {
  if (userId === actorId && changes.active === false) throw new ValidationError('active', 'an admin cannot deactivate themselves');
}
