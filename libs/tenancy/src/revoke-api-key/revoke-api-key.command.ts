import { Actor } from '@app/shared';

export class RevokeApiKeyCommand {
  constructor(
    readonly actor: Actor,
    readonly keyId: string,
  ) {}
}
