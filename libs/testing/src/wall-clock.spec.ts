import { IANAZone } from 'luxon';
import { clock, DAY, MINUTE, prng, ZONES } from './wall-clock';

const SEED = Number(process.env.PROPERTY_SEED ?? 20251109);

it('should read the same offsets as luxon (the oracle itself is sound)', () => {
  const r = prng(SEED);
  for (const zone of ZONES) {
    const z = IANAZone.create(zone);
    for (let i = 0; i < 100; i++) {
      const t = Date.UTC(2024, 11, 1) + Math.floor(r.next() * 3 * 365 * DAY);
      expect([zone, t, clock(zone).offset(t)]).toEqual([zone, t, z.offset(t) * MINUTE]);
    }
  }
  // the zones that change their clocks do so twice a year
  for (const zone of ['America/New_York', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/Santiago', 'America/Havana', 'America/St_Johns']) {
    expect([zone, clock(zone).recentChanges.length]).toEqual([zone, 6]);
  }
});
