import { Role } from '@app/shared';

export const OrganizationCreated = 'OrganizationCreated';
export const UserCreated = 'UserCreated';
export const ApiKeyIssued = 'ApiKeyIssued';
export const ApiKeyRevoked = 'ApiKeyRevoked';

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
  readonly timezone: string;
}

export interface ApiKeyIssuedData {
  readonly keyId: string;
  readonly userId: string;
  /** sha256 of the key, hex. The key itself is shown once and never stored. */
  readonly keyHash: string;
  readonly prefix: string;
}

export interface ApiKeyRevokedData {
  readonly keyId: string;
  readonly userId: string;
}

export type UserEvent =
  | { type: typeof UserCreated; data: UserCreatedData }
  | { type: typeof ApiKeyIssued; data: ApiKeyIssuedData }
  | { type: typeof ApiKeyRevoked; data: ApiKeyRevokedData };

export const orgStream = (orgId: string) => `org-${orgId}`;
export const userStream = (userId: string) => `user-${userId}`;
