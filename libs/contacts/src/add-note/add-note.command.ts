import { Actor } from '@app/shared';

export class AddNoteCommand {
  constructor(
    readonly actor: Actor,
    readonly contactId: string,
    readonly text: string,
  ) {}
}
