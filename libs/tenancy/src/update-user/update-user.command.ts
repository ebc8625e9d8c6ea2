import { Actor } from '@app/shared';
import { UserChanges } from '../domain/user.decider';

export class UpdateUserCommand {
  constructor(
    readonly actor: Actor,
    readonly userId: string,
    readonly changes: UserChanges,
  ) {}
}
