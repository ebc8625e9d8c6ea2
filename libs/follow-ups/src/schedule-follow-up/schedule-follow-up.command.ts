import { Actor } from '@app/shared';
import { FollowUpFields } from '@app/contacts';

export class ScheduleFollowUpCommand {
  constructor(
    readonly actor: Actor,
    readonly contactId: string,
    readonly fields: FollowUpFields,
  ) {}
}
