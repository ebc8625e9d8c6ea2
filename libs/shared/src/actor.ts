export const ROLES = ['admin', 'supervisor', 'agent', 'integration'] as const;
export type Role = (typeof ROLES)[number];

/** Who is acting: every command and query carries one, and every SQL read is scoped by its orgId. */
export interface Actor {
  readonly orgId: string;
  readonly userId: string;
  readonly role: Role;
  readonly timezone: string;
}

export const isSupervisorOrAdmin = (actor: Actor): boolean => actor.role === 'admin' || actor.role === 'supervisor';

/** The actor background work writes as (workers, auto-assignment): the organization itself, no user. */
export const systemActor = (orgId: string): Actor => ({ orgId, userId: 'system', role: 'admin', timezone: 'UTC' });
