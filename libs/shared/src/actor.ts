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

/** The userId of the actor background work writes as (workers, auto-assignment): the organization itself, no user. */
export const SYSTEM_USER_ID = 'system';

export const systemActor = (orgId: string): Actor => ({ orgId, userId: SYSTEM_USER_ID, role: 'admin', timezone: 'UTC' });

/**
 * The actorId an event records: the user's id, or null for the system (what the timeline answers for it, SPEC's
 * uuid-or-null). Events written before this rule carry the text 'system': readers map it with this too.
 */
export const recordedActorId = (userId: string | null | undefined): string | null => (userId === SYSTEM_USER_ID ? null : (userId ?? null));
