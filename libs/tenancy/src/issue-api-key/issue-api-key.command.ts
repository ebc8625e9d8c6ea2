import { Actor } from '@app/shared';

export class IssueApiKeyCommand {
  constructor(
    readonly actor: Actor,
    readonly userId: string,
    /** The operator's label for the key; null: none. */
    readonly name: string | null,
  ) {}
}

export interface IssueApiKeyResult {
  id: string;
  /** Shown this once: only its hash is stored. */
  apiKey: string;
}
