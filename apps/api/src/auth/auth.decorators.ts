import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { Actor, Role } from '@app/shared';

export const PUBLIC = 'auth:public';
export const ROLES_KEY = 'auth:roles';

/** No API key needed (health, metrics, docs). */
export const Public = () => SetMetadata(PUBLIC, true);
/** Only these roles may call the route; others get 403. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => ctx.switchToHttp().getRequest().actor);
