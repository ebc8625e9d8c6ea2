import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { Clock, NotFoundError } from '@app/shared';
import { EventStore, NO_STREAM } from '@app/event-store';
import { generateApiKey } from '../domain/api-key';
import { userStream } from '../domain/tenancy.events';
import { decideUser, evolveUser, initialUserState } from '../domain/user.decider';
import { UserRepository } from '../user.repository';
import { CreateUserCommand, CreateUserResult } from './create-user.command';

/** A new user and their first API key, in one append; the key is returned here and never again. */
@CommandHandler(CreateUserCommand)
export class CreateUserHandler implements ICommandHandler<CreateUserCommand, CreateUserResult> {
  constructor(
    private readonly store: EventStore,
    private readonly users: UserRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, user }: CreateUserCommand): Promise<CreateUserResult> {
    if (!(await this.users.orgTimezone(actor.orgId))) throw new NotFoundError('organization', actor.orgId);
    const userId = randomUUID();
    const keyId = randomUUID();
    const key = generateApiKey();
    const created = decideUser(
      {
        type: 'CreateUser',
        user: {
          userId,
          orgId: actor.orgId,
          name: user.name,
          email: user.email ?? null,
          role: user.role,
          branch: user.branch ?? null,
          department: user.department ?? null,
          // none given: the org's, as it is at each moment, not a copy of today's (migration 0026)
          timezone: user.timezone ?? null,
        },
      },
      initialUserState,
    );
    const issued = decideUser({ type: 'IssueApiKey', userId, keyId, keyHash: key.hash, prefix: key.prefix, name: null }, created.reduce(evolveUser, initialUserState));
    await this.store.append(userStream(userId), [...created, ...issued], {
      expectedVersion: NO_STREAM,
      metadata: { orgId: actor.orgId, actorId: actor.userId, occurredAt: this.clock.now().toISOString() },
    });
    return { id: userId, apiKey: key.key, apiKeyId: keyId };
  }
}
