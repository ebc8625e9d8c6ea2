import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { Clock } from '@app/shared';
import { EventStore, NO_STREAM } from '@app/event-store';
import { generateApiKey } from '../domain/api-key';
import { OrganizationCreated, orgStream, userStream } from '../domain/tenancy.events';
import { decideUser, initialUserState, evolveUser } from '../domain/user.decider';
import { CreateOrganizationCommand, CreateOrganizationResult } from './create-organization.command';

/**
 * Creates an organization and its first admin with a key. Two appends (org stream, user stream): if the
 * process dies between them the org has no admin and the command is simply run again for a new org.
 */
@CommandHandler(CreateOrganizationCommand)
export class CreateOrganizationHandler implements ICommandHandler<CreateOrganizationCommand, CreateOrganizationResult> {
  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
  ) {}

  async execute(cmd: CreateOrganizationCommand): Promise<CreateOrganizationResult> {
    const orgId = randomUUID();
    const adminUserId = randomUUID();
    const adminKeyId = randomUUID();
    const key = generateApiKey();
    const metadata = { orgId, actorId: null, occurredAt: this.clock.now().toISOString() };
    await this.store.append(orgStream(orgId), [{ type: OrganizationCreated, data: { orgId, name: cmd.name, timezone: cmd.timezone } }], {
      expectedVersion: NO_STREAM,
      metadata,
    });
    const created = decideUser(
      {
        type: 'CreateUser',
        user: { userId: adminUserId, orgId, name: cmd.adminName, email: null, role: 'admin', branch: null, department: null, timezone: null },
      },
      initialUserState,
    );
    const state = created.reduce(evolveUser, initialUserState);
    const issued = decideUser({ type: 'IssueApiKey', userId: adminUserId, keyId: adminKeyId, keyHash: key.hash, prefix: key.prefix, name: null }, state);
    await this.store.append(userStream(adminUserId), [...created, ...issued], { expectedVersion: NO_STREAM, metadata: { ...metadata, actorId: adminUserId } });
    return { orgId, adminUserId, adminKey: key.key, adminKeyId };
  }
}
