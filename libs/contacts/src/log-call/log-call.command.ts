import { Actor } from '@app/shared';
import { CallPush } from './call-push';

export class LogCallCommand {
  constructor(
    readonly actor: Actor,
    readonly call: CallPush,
  ) {}
}

/** Items already validated one by one at the edge; each is answered on its own. */
export class LogCallsBatchCommand {
  constructor(
    readonly actor: Actor,
    readonly calls: readonly CallPush[],
  ) {}
}
