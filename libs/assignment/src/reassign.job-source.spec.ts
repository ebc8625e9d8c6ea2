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
    ['maxReassignments is raised', { enabled: true, maxReassignments: 2 }, { enabled: true, maxReassignments: 3 }],
    ['the scope moves from a branch to the org', { enabled: true, scope: 'branch' }, { enabled: true, scope: 'org' }],
    ['the scope moves from a branch to a department', { enabled: true, scope: 'branch' }, { enabled: true, scope: 'department' }],
  ])('should say so when %s while it is on', (_what, before, after) => {
    expect(recyclesMore(rules(before), rules(after))).toBe(true);
  });

  it.each<[string, Partial<AutoAssignmentSettings>, Partial<AutoAssignmentSettings>]>([
    ['it is turned off', { enabled: true }, { enabled: false }],
    ['maxReassignments is lowered', { enabled: true, maxReassignments: 3 }, { enabled: true, maxReassignments: 1 }],
    ['the scope narrows from the org to a branch', { enabled: true, scope: 'org' }, { enabled: true, scope: 'branch' }],
    ['maxReassignments is raised while it is off', { enabled: false, maxReassignments: 2 }, { enabled: false, maxReassignments: 3 }],
    ['a status is added while it is off', { enabled: false, statuses: ['Missed'] }, { enabled: false, statuses: ['Missed', 'Not Picked'] }],
    ['a status is removed', { enabled: true }, { enabled: true, statuses: ['Missed'] }],
    ['the statuses are reordered', { enabled: true, statuses: ['Missed', 'Not Picked'] }, { enabled: true, statuses: ['Not Picked', 'Missed'] }],
    ['the delay or the strategy changes', { enabled: true }, { enabled: true, delaySeconds: 60, strategy: 'least_loaded' }],
  ])('should not when %s', (_what, before, after) => {
    expect(recyclesMore(rules(before), rules(after))).toBe(false);
  });
});
