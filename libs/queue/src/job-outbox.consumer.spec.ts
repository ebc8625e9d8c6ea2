import { StoredEvent } from '@app/event-store';
import { Sql } from '@app/shared';
import { JobOutbox, splitRemovals } from './job-outbox.consumer';
import { JobQueues } from './job-queues';
import { JobRegistry } from './job.registry';
import { JobRequest, QueueName, removal } from './queue.constants';

const job = (jobId: string, queue = QueueName.FollowUps): JobRequest => ({ name: 'probe.run', queue, payload: {}, jobId, runAt: 0 });

describe(splitRemovals.name, () => {
  it('should leave the adds as they are when nothing is removed', () => {
    expect(splitRemovals([job('a'), job('b')])).toEqual({ adds: [job('a'), job('b')], removals: [] });
  });

  it('should not add a job the same requests remove, whichever comes first', () => {
    const { adds, removals } = splitRemovals([removal(job('a')), job('a'), job('b'), job('c'), removal(job('c'))]);
    expect(adds.map((r) => r.jobId)).toEqual(['b']);
    expect(removals.map((r) => r.jobId)).toEqual(['a', 'c']);
  });

  it('should tell queues apart', () => {
    const { adds } = splitRemovals([job('a', QueueName.Maintenance), removal(job('a', QueueName.FollowUps))]);
    expect(adds.map((r) => [r.queue, r.jobId])).toEqual([[QueueName.Maintenance, 'a']]);
  });
});

describe(JobOutbox.name, () => {
  it('should add the round\'s jobs, then remove what it made pointless', async () => {
    const calls: string[] = [];
    const queues = {
      enqueue: async (r: JobRequest[]) => void calls.push(`enqueue ${r.map((x) => x.jobId).join(',')}`),
      remove: async (r: JobRequest[]) => (calls.push(`remove ${r.map((x) => x.jobId).join(',')}`), 0),
    } as unknown as JobQueues;
    const source = { name: 's', jobNames: [], eventTypes: ['E'], jobsFor: async () => [job('new'), removal(job('old')), job('gone'), removal(job('gone'))], pending: async function* () {} };
    const registry = { sources: [source], eventTypes: () => ['E'] } as unknown as JobRegistry;
    await new JobOutbox(registry, queues).handle([{ type: 'E' } as StoredEvent], {} as Sql);
    expect(calls).toEqual(['enqueue new', 'remove old,gone']);
  });
});
