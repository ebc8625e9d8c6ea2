import { ConflictError, NotFoundError, Role } from '@app/shared';
import { ApiKeyIssued, ApiKeyRevoked, UserCreated, UserCreatedData, UserEvent } from './tenancy.events';

export interface UserState {
  readonly exists: boolean;
  readonly keys: ReadonlyMap<string, { readonly revoked: boolean }>;
}

export const initialUserState: UserState = { exists: false, keys: new Map() };

export type UserCommand =
  | { type: 'CreateUser'; user: UserCreatedData }
  | { type: 'IssueApiKey'; userId: string; keyId: string; keyHash: string; prefix: string }
  | { type: 'RevokeApiKey'; userId: string; keyId: string };

export function evolveUser(state: UserState, event: UserEvent): UserState {
  switch (event.type) {
    case UserCreated:
      return { ...state, exists: true };
    case ApiKeyIssued:
      return { ...state, keys: new Map(state.keys).set(event.data.keyId, { revoked: false }) };
    case ApiKeyRevoked:
      return { ...state, keys: new Map(state.keys).set(event.data.keyId, { revoked: true }) };
  }
}

export function decideUser(command: UserCommand, state: UserState): UserEvent[] {
  switch (command.type) {
    case 'CreateUser':
      if (state.exists) throw new ConflictError(`user ${command.user.userId} exists already`);
      return [{ type: UserCreated, data: command.user }];
    case 'IssueApiKey':
      if (!state.exists) throw new NotFoundError('user', command.userId);
      return [{ type: ApiKeyIssued, data: { keyId: command.keyId, userId: command.userId, keyHash: command.keyHash, prefix: command.prefix } }];
    case 'RevokeApiKey': {
      const key = state.keys.get(command.keyId);
      if (!state.exists || !key) throw new NotFoundError('api key', command.keyId);
      if (key.revoked) return []; // revoking twice is not an error: the key is revoked either way
      return [{ type: ApiKeyRevoked, data: { keyId: command.keyId, userId: command.userId } }];
    }
  }
}

export const ROLES_THAT_WORK_CONTACTS: readonly Role[] = ['agent'];
