import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ForbiddenError, Role, UnauthorizedError } from '@app/shared';
import { hashApiKey, UserRepository } from '@app/tenancy';
import { PUBLIC, ROLES_KEY } from './auth.decorators';

/**
 * `Authorization: Bearer <key>` → the key's user as the request's Actor; then the route's roles.
 * Every handler scopes its reads and writes by actor.orgId, so a key never reaches another organization.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly users: UserRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!match) throw new UnauthorizedError('missing API key: send Authorization: Bearer <key>');
    const actor = await this.users.actorForKey(hashApiKey(match[1]));
    if (!actor) throw new UnauthorizedError('invalid or revoked API key');
    req.actor = actor;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(actor.role)) throw new ForbiddenError(`this action needs the role ${roles.join(' or ')}; you are ${actor.role}`);
    return true;
  }
}
