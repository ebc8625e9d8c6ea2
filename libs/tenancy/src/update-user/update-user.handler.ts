import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock, NotFoundError } from '@app/shared';
import { decideAndAppend, EventStore } from '@app/event-store';
import { userStream } from '../domain/tenancy.events';
import { decideUser, evolveUser, initialUserState, refuseSelfDeactivation } from '../domain/user.decider';
import { UserRepository } from '../user.repository';
import { UpdateUserCommand } from './update-user.command';

/** An admin changes a user's name, branch, department, timezone or active flag (deactivating stops their keys). */
@CommandHandler(UpdateUserCommand)
export class UpdateUserHandler implements ICommandHandler<UpdateUserCommand, void> {
  constructor(
    private readonly store: EventStore,
    private readonly users: UserRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, userId, changes }: UpdateUserCommand): Promise<void> {
    // another organisation's user is not found, never changed
    if (!(await this.users.find(actor.orgId, userId))) throw new NotFoundError('user', userId);
    refuseSelfDeactivation(actor.userId, userId, changes);
    await decideAndAppend(this.store, {
      streamId: userStream(userId),
      metadata: { orgId: actor.orgId, actorId: actor.userId, occurredAt: this.clock.now().toISOString() },
      decider: { initial: initialUserState, evolve: evolveUser },
      decide: (state) => decideUser({ type: 'UpdateUser', userId, changes }, state),
    });
    this.users.forgetActors();
  }
}
