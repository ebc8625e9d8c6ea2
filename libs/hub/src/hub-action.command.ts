import { Actor } from '@app/shared';

export type HubAction = 'done' | 'snooze';

export class HubActionCommand {
  constructor(
    readonly actor: Actor,
    readonly contactIds: readonly string[],
    readonly action: HubAction,
  ) {}
}

export interface HubActionResult {
  ok: true;
  count: number;
  action: HubAction;
}
