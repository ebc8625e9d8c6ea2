import { Actor } from '@app/shared';
import { DEFAULT_SIGNING_SECRET_GRACE_SECONDS } from '../domain/settings';

/**
 * Replaces the organization's signing secret with a new random one (admins only). The replaced one keeps signing
 * beside it for `graceSeconds` (0: not at all), so receivers can switch over without refusing a request. Answers the
 * whole settings, the replaced secret (if it overlaps) in `previousSigningSecret`.
 */
export class RotateSigningSecretCommand {
  constructor(
    readonly actor: Actor,
    readonly graceSeconds: number = DEFAULT_SIGNING_SECRET_GRACE_SECONDS,
  ) {}
}
