import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { Actor, Role } from '@app/shared';

export const PUBLIC = 'auth:public';
export const ROLES_KEY = 'auth:roles';

/** No API key needed (health, metrics, docs). */
export const Public = () => SetMetadata(PUBLIC, true);
/** Only these roles may call the route; others get 403. On a handler it overrides its controller's. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
/**
 * The people of an organization, not its integrations: SPEC §9 gives an integration key the call pushes alone (and the
 * reference data a push names: agents, campaigns, settings without the secret), not contacts, notes, follow-ups or hubs.
 */
export const Staff = () => Roles('admin', 'supervisor', 'agent');
/** Every role, integrations included: overrides a controller's Staff() on one handler. */
export const AnyRole = () => Roles('admin', 'supervisor', 'agent', 'integration');

export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => ctx.switchToHttp().getRequest().actor);
