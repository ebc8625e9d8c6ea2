import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock, NotFoundError } from '@app/shared';
import { decideAndAppend, EventStore } from '@app/event-store';
import { userStream } from '../domain/tenancy.events';
import { decideUser, evolveUser, initialUserState } from '../domain/user.decider';
import { UserRepository } from '../user.repository';
import { RevokeApiKeyCommand } from './revoke-api-key.command';

@CommandHandler(RevokeApiKeyCommand)
export class RevokeApiKeyHandler implements ICommandHandler<RevokeApiKeyCommand, void> {
  constructor(
    private readonly store: EventStore,
    private readonly users: UserRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, keyId }: RevokeApiKeyCommand): Promise<void> {
    const userId = await this.users.keyOwner(actor.orgId, keyId);
    if (!userId) throw new NotFoundError('api key', keyId);
    await decideAndAppend(this.store, {
      streamId: userStream(userId),
      metadata: { orgId: actor.orgId, actorId: actor.userId, occurredAt: this.clock.now().toISOString() },
      decider: { initial: initialUserState, evolve: evolveUser },
      decide: (state) => decideUser({ type: 'RevokeApiKey', userId, keyId }, state),
    });
    this.users.forgetActors();
  }
}
