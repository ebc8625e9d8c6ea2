import { AutoAssignmentSettings, DEFAULT_SETTINGS } from '@app/settings';
import { recyclesMore } from './reassign.job-source';

const rules = (over: Partial<AutoAssignmentSettings> = {}): AutoAssignmentSettings => ({ ...DEFAULT_SETTINGS.autoAssignment, ...over });

describe(recyclesMore.name, () => {
  it('should say so when auto-assignment is turned on', () => {
    expect(recyclesMore(rules({ enabled: false }), rules({ enabled: true }))).toBe(true);
  });

  it('should say so when a status is added while it is on', () => {
    expect(recyclesMore(rules({ enabled: true, statuses: ['Missed'] }), rules({ enabled: true, statuses: ['Missed', 'Not Picked'] }))).toBe(true);
  });

  it.each<[string, Partial<AutoAssignmentSettings>, Partial<AutoAssignmentSettings>]>([
    ['it is turned off', { enabled: true }, { enabled: false }],
    ['a status is added while it is off', { enabled: false, statuses: ['Missed'] }, { enabled: false, statuses: ['Missed', 'Not Picked'] }],
    ['a status is removed', { enabled: true }, { enabled: true, statuses: ['Missed'] }],
    ['the statuses are reordered', { enabled: true, statuses: ['Missed', 'Not Picked'] }, { enabled: true, statuses: ['Not Picked', 'Missed'] }],
    [
      'the delay, strategy, scope or maximum changes',
      { enabled: true },
      { enabled: true, delaySeconds: 60, strategy: 'least_loaded', scope: 'branch', maxReassignments: 5 },
    ],
  ])('should not when %s', (_what, before, after) => {
    expect(recyclesMore(rules(before), rules(after))).toBe(false);
  });
});
