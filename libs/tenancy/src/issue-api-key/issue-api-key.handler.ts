import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { Clock, NotFoundError } from '@app/shared';
import { decideAndAppend, EventStore } from '@app/event-store';
import { generateApiKey } from '../domain/api-key';
import { userStream } from '../domain/tenancy.events';
import { decideUser, evolveUser, initialUserState } from '../domain/user.decider';
import { UserRepository } from '../user.repository';
import { IssueApiKeyCommand, IssueApiKeyResult } from './issue-api-key.command';

/**
 * Another key for an existing user, so a client's key can be rotated without a new identity: issue, deploy, revoke the
 * old one. The user's other keys keep working. Nothing is forgotten from the auth cache: it holds only keys that were
 * valid, and this one was unknown until now, so it works on the very next request (the tenancy projection is inline).
 */
@CommandHandler(IssueApiKeyCommand)
export class IssueApiKeyHandler implements ICommandHandler<IssueApiKeyCommand, IssueApiKeyResult> {
  constructor(
    private readonly store: EventStore,
    private readonly users: UserRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ actor, userId, name }: IssueApiKeyCommand): Promise<IssueApiKeyResult> {
    // another organisation's user is not found, never given a key
    if (!(await this.users.find(actor.orgId, userId))) throw new NotFoundError('user', userId);
    const keyId = randomUUID();
    const key = generateApiKey();
    await decideAndAppend(this.store, {
      streamId: userStream(userId),
      metadata: { orgId: actor.orgId, actorId: actor.userId, occurredAt: this.clock.now().toISOString() },
      decider: { initial: initialUserState, evolve: evolveUser },
      decide: (state) => decideUser({ type: 'IssueApiKey', userId, keyId, keyHash: key.hash, prefix: key.prefix, name }, state),
    });
    return { id: keyId, apiKey: key.key };
  }
}
