import { Actor } from '@app/shared';

export type FollowUpAction =
  | { action: 'snooze' }
  | { action: 'reschedule'; scheduledAt: string }
  | { action: 'cancel'; reason?: string | null }
  | { action: 'complete'; how?: 'manual' | 'hub' };

export class ChangeFollowUpCommand {
  constructor(
    readonly actor: Actor,
    readonly followUpId: string,
    readonly change: FollowUpAction,
  ) {}
}
