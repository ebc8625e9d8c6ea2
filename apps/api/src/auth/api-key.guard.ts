import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ForbiddenError, Role } from '@app/shared';
import { Authenticator } from './authenticator';
import { PUBLIC, ROLES_KEY } from './auth.decorators';

/**
 * `Authorization: Bearer <key>` → the key's user as the request's Actor (Authenticator; a request with a body was
 * authenticated before it was read, and carries its actor already); then the route's roles.
 * Every handler scopes its reads and writes by actor.orgId, so a key never reaches another organization.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest();
    if (!req.actor) {
      const reply = context.switchToHttp().getResponse();
      req.actor = await this.authenticator.authenticate(req, (name, value) => reply.header(name, value));
    }
    const actor = req.actor;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(actor.role)) throw new ForbiddenError(`this action needs the role ${roles.join(' or ')}; you are ${actor.role}`);
    return true;
  }
}
