import { Role } from '@app/shared';

export const OrganizationCreated = 'OrganizationCreated';
export const UserCreated = 'UserCreated';
export const ApiKeyIssued = 'ApiKeyIssued';
export const ApiKeyRevoked = 'ApiKeyRevoked';
export const UserUpdated = 'UserUpdated';

export interface OrganizationCreatedData {
  readonly orgId: string;
  readonly name: string;
  readonly timezone: string;
}

export interface UserCreatedData {
  readonly userId: string;
  readonly orgId: string;
  readonly name: string;
  readonly email: string | null;
  readonly role: Role;
  readonly branch: string | null;
  readonly department: string | null;
  /** null: the organization's, whatever it is at the time (users created before migration 0026 carry a copy). */
  readonly timezone: string | null;
}

export interface ApiKeyIssuedData {
  readonly keyId: string;
  readonly userId: string;
  /** sha256 of the key, hex. The key itself is shown once and never stored. */
  readonly keyHash: string;
  readonly prefix: string;
  /** The operator's label, to tell a user's keys apart ("dialler, 2026 rotation"); absent in keys issued before it existed. */
  readonly name?: string | null;
}

export interface ApiKeyRevokedData {
  readonly keyId: string;
  readonly userId: string;
}

/** An admin changed a user. `changes` holds only the fields whose value really changed. */
export interface UserUpdatedData {
  readonly userId: string;
  readonly changes: {
    readonly name?: string;
    readonly branch?: string | null;
    readonly department?: string | null;
    /** null: from now on the organization's. */
    readonly timezone?: string | null;
    /** false: the user can no longer sign in, and auto-assignment no longer picks them. */
    readonly active?: boolean;
  };
}

export type UserEvent =
  | { type: typeof UserCreated; data: UserCreatedData }
  | { type: typeof ApiKeyIssued; data: ApiKeyIssuedData }
  | { type: typeof ApiKeyRevoked; data: ApiKeyRevokedData }
  | { type: typeof UserUpdated; data: UserUpdatedData };

export const orgStream = (orgId: string) => `org-${orgId}`;
export const userStream = (userId: string) => `user-${userId}`;
