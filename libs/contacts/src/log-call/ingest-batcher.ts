import { Injectable } from '@nestjs/common';
import { Actor } from '@app/shared';
import { Counter, Histogram } from 'prom-client';
import { CallPush, CallPushResult } from './call-push';
import { CallIngest, ItemOutcome } from './call-ingest';

const MAX_BATCH = 500;
const MAX_IN_FLIGHT = 4;

const batchSize = new Histogram({
  name: 'ingest_group_commit_size',
  help: 'Single pushes grouped into one append transaction',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
});
const fallbacks = new Counter({ name: 'ingest_group_commit_fallbacks_total', help: 'Groups re-run one push at a time after an unexpected error' });

interface Waiting {
  push: CallPush;
  resolve: (r: ItemOutcome) => void;
}

interface Lane {
  actor: Actor;
  queue: Waiting[];
  inFlight: number;
}

/**
 * Group commit for single pushes. Concurrent POST /api/calls of one caller are appended together: while a
 * group is being written, the pushes that arrive wait and go in the next group (no timer, so a lone push
 * is written at once). Each push is still decided on its own and answered on its own; a group costs one
 * transaction and a fixed number of queries instead of one each. If a group fails for a reason that is
 * not one push's fault, its pushes are written again one by one, so one cannot sink the others.
 */
@Injectable()
export class IngestBatcher {
  private readonly lanes = new Map<string, Lane>();

  constructor(private readonly ingest: CallIngest) {}

  async push(actor: Actor, push: CallPush): Promise<CallPushResult> {
    const key = `${actor.orgId}|${actor.userId}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { actor, queue: [], inFlight: 0 };
      this.lanes.set(key, lane);
    }
    const outcome = await new Promise<ItemOutcome>((resolve) => {
      lane!.queue.push({ push, resolve });
      this.drain(key, lane!);
    });
    if ('error' in outcome) throw outcome.error;
    return outcome.ok;
  }

  private drain(key: string, lane: Lane): void {
    while (lane.queue.length > 0 && lane.inFlight < MAX_IN_FLIGHT) {
      const group = lane.queue.splice(0, MAX_BATCH);
      lane.inFlight++;
      void this.write(lane.actor, group).finally(() => {
        lane.inFlight--;
        if (lane.queue.length > 0) this.drain(key, lane);
        else if (lane.inFlight === 0) this.lanes.delete(key);
      });
    }
  }

  private async write(actor: Actor, group: Waiting[]): Promise<void> {
    batchSize.observe(group.length);
    try {
      const outcomes = await this.ingest.ingestBatch(
        actor,
        group.map((w) => w.push),
      );
      group.forEach((w, i) => w.resolve(outcomes[i]));
    } catch (err) {
      if (group.length === 1) return group[0].resolve({ error: err as Error });
      fallbacks.inc();
      await Promise.all(group.map(async (w) => w.resolve((await this.ingest.ingestBatch(actor, [w.push]).catch((error: Error) => [{ error }]))[0])));
    }
  }
}
