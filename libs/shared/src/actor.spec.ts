import { recordedActorId, systemActor } from './actor';

describe(recordedActorId.name, () => {
  it("should record a user's id as it is and the system as null, and read the 'system' of earlier events as null", () => {
    expect(recordedActorId('0b6f2f7e-8f55-4c1c-9d3e-5f1a2b3c4d5e')).toBe('0b6f2f7e-8f55-4c1c-9d3e-5f1a2b3c4d5e');
    expect(recordedActorId(systemActor('org').userId)).toBeNull();
    expect(recordedActorId('system')).toBeNull();
    expect(recordedActorId(null)).toBeNull();
    expect(recordedActorId(undefined)).toBeNull();
  });
});
