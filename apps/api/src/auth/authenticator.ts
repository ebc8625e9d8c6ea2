import { Injectable } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { Actor, UnauthorizedError } from '@app/shared';
import { hashApiKey, UserRepository } from '@app/tenancy';
import { AuthFailureLimit } from './auth-failure-limit';

/** What authentication reads of a request (Fastify's, whether a route handler has it yet or not). */
export interface Credentials {
  readonly headers: { authorization?: string };
  readonly ip: string | undefined;
}

/**
 * `Authorization: Bearer <key>` → the key's user. An address with too many failed authentications is refused before
 * its key is looked up (AuthFailureLimit); every failure here counts against it. Used by ApiKeyGuard, and before a
 * request's body is read (bootstrap's `authenticateBeforeBody`), so that nobody without a valid key makes the API parse
 * megabytes of JSON.
 */
@Injectable()
export class Authenticator {
  constructor(
    private readonly users: UserRepository,
    private readonly failures: AuthFailureLimit,
  ) {}

  /** The key's actor; throws 401 (no key, or one that is unknown or revoked) or 429 (Retry-After set through `header`). */
  async authenticate(req: Credentials, header: (name: string, value: string) => void): Promise<Actor> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const keyHash = match ? hashApiKey(match[1]) : undefined;
    const address = AuthFailureLimit.addressOf(req.ip);
    const waitSeconds = await this.failures.refusedFor(address, keyHash);
    if (waitSeconds > 0) {
      header('Retry-After', String(waitSeconds));
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
    return actor;
  }
}
