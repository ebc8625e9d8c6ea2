import { ConsumerRunner } from './consumer-runner';
import { StoredEvent } from './event-store.types';

const MAX = '9223372036854775807';
const event = (transactionId: string, globalPosition: string): StoredEvent => ({
  globalPosition,
  transactionId,
  streamId: 's',
  streamVersion: 1,
  orgId: 'o',
  type: 'T',
  data: {},
  metadata: { orgId: 'o', occurredAt: '2026-12-06T00:00:00.000Z' },
  idempotencyKey: null,
});

describe('ConsumerRunner.nextCheckpoint', () => {
  it('should move to the last event read when the batch is full', () => {
    const events = [event('1000', '1'), event('1000', '2'), event('1000', '3')];
    expect(ConsumerRunner.nextCheckpoint({ transactionId: '999', globalPosition: MAX }, events, '1001', 3)).toEqual({ transactionId: '1000', globalPosition: '3' });
  });

  it('should move past the whole of the last ended transaction when a short batch finishes it from partway through', () => {
    // Transaction 1000 wrote 7 events; a full batch of 5 stopped at its 5th; 1001 is still open (the horizon). The
    // short batch that reads the last two must not leave the checkpoint at the 5th, or they come round again.
    const rest = [event('1000', '6'), event('1000', '7')];
    const next = ConsumerRunner.nextCheckpoint({ transactionId: '1000', globalPosition: '5' }, rest, '1001', 5);
    expect(next).toEqual({ transactionId: '1000', globalPosition: MAX });
  });

  it('should move to just below the horizon after a short batch, and stay when nothing ended since', () => {
    expect(ConsumerRunner.nextCheckpoint({ transactionId: '990', globalPosition: MAX }, [], '1001', 5)).toEqual({ transactionId: '1000', globalPosition: MAX });
    expect(ConsumerRunner.nextCheckpoint({ transactionId: '1000', globalPosition: MAX }, [], '1001', 5)).toEqual({ transactionId: '1000', globalPosition: MAX });
  });
});
