import { Actor, Role } from '@app/shared';

export class CreateUserCommand {
  constructor(
    readonly actor: Actor,
    readonly user: { name: string; email?: string; role: Role; branch?: string; department?: string; timezone?: string },
  ) {}
}

export interface CreateUserResult {
  id: string;
  apiKey: string;
  apiKeyId: string;
}
