import { Actor } from '@app/shared';
import { FollowUpFields } from '@app/contacts';

export class ScheduleFollowUpCommand {
  constructor(
    readonly actor: Actor,
    readonly contactId: string,
    readonly fields: FollowUpFields,
    /** The client's Idempotency-Key, if it sent one: a retry with it schedules nothing new (the handler). */
    readonly idempotencyKey: string | null = null,
  ) {}
}
