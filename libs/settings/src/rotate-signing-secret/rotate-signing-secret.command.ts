import { Actor } from '@app/shared';

/** Replaces the organization's signing secret with a new random one (admins only). Answers the whole settings. */
export class RotateSigningSecretCommand {
  constructor(readonly actor: Actor) {}
}
