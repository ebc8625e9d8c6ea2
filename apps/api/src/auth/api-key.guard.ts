import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerException } from '@nestjs/throttler';
import { ForbiddenError, Role, UnauthorizedError } from '@app/shared';
import { hashApiKey, UserRepository } from '@app/tenancy';
import { AuthFailureLimit } from './auth-failure-limit';
import { PUBLIC, ROLES_KEY } from './auth.decorators';

/**
 * `Authorization: Bearer <key>` → the key's user as the request's Actor; then the route's roles.
 * Every handler scopes its reads and writes by actor.orgId, so a key never reaches another organization.
 * An address with too many failed authentications is refused before its key is looked up (AuthFailureLimit).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly users: UserRepository,
    private readonly failures: AuthFailureLimit,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest();
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const keyHash = match ? hashApiKey(match[1]) : undefined;
    const address = AuthFailureLimit.addressOf(req.ip);
    const waitSeconds = await this.failures.refusedFor(address, keyHash);
    if (waitSeconds > 0) {
      context.switchToHttp().getResponse().header('Retry-After', String(waitSeconds));
      const { limit, windowMs } = this.failures;
      throw new ThrottlerException(
        `too many failed authentications from this address: at most ${limit} in ${windowMs / 1000} s; retry after the Retry-After header's seconds with a valid API key`,
      );
    }
    if (!keyHash) {
      await this.failures.failed(address, undefined);
      throw new UnauthorizedError('missing API key: send Authorization: Bearer <key>');
    }
    const actor = await this.users.actorForKey(keyHash);
    if (!actor) {
      await this.failures.failed(address, keyHash);
      throw new UnauthorizedError('invalid or revoked API key');
    }
    void this.failures.succeeded(keyHash);
    req.actor = actor;
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(actor.role)) throw new ForbiddenError(`this action needs the role ${roles.join(' or ')}; you are ${actor.role}`);
    return true;
  }
}
