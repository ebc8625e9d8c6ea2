import { FINAL_CALL_STATUSES, LEAD_STATUSES, LeadStatus, SPOKEN_TO_STATUSES } from './contact.events';
import { leadStatusAfterFollowUpScheduled, nextLeadStatus } from './lead-status';

const NOT_SPOKEN_TO: LeadStatus[] = ['New', 'Not Picked', 'Missed'];

describe(nextLeadStatus.name, () => {
  describe('Called', () => {
    it.each(['Interested', 'Not Interested', 'Followups'] as const)('should become %s when the push asks for it', (requested) => {
      // given a new lead, when a Called push asks for a status, then the lead takes it
      expect(nextLeadStatus('New', 'Called', requested)).toBe(requested);
    });

    it('should move a spoken-to lead to another spoken-to status when the push asks for it', () => {
      expect(nextLeadStatus('Interested', 'Called', 'Not Interested')).toBe('Not Interested');
    });

    it.each(LEAD_STATUSES)('should keep %s when the push asks for nothing', (current) => {
      expect(nextLeadStatus(current, 'Called')).toBe(current);
      expect(nextLeadStatus(current, 'Called', null)).toBe(current);
    });

    it.each(['New', 'Not Picked', 'Missed'] as const)('should keep the status when the push asks for %s, which a call cannot set', (requested) => {
      expect(nextLeadStatus('Interested', 'Called', requested)).toBe('Interested');
    });
  });

  describe.each(['Busy', 'No Answer'] as const)('%s', (callStatus) => {
    it.each(NOT_SPOKEN_TO)('should become Not Picked when the lead is %s', (current) => {
      expect(nextLeadStatus(current, callStatus)).toBe('Not Picked');
    });
  });

  describe('Missed', () => {
    it.each(NOT_SPOKEN_TO)('should become Missed when the lead is %s', (current) => {
      expect(nextLeadStatus(current, 'Missed')).toBe('Missed');
    });
  });

  describe('spoken-to leads keep their status', () => {
    const cases = (['Busy', 'No Answer', 'Missed'] as const).flatMap((callStatus) => SPOKEN_TO_STATUSES.map((current) => [callStatus, current] as const));
    it.each(cases)('should stay unchanged when the call is %s and the lead is %s', (callStatus, current) => {
      expect(nextLeadStatus(current, callStatus)).toBe(current);
    });

    it('should ignore a requested status when the call is not Called', () => {
      expect(nextLeadStatus('New', 'Busy', 'Interested')).toBe('Not Picked');
    });
  });

  describe.each(['Follow up', 'Rescheduled'] as const)('%s', (callStatus) => {
    it.each(LEAD_STATUSES)('should become Followups when the lead is %s', (current) => {
      expect(nextLeadStatus(current, callStatus)).toBe('Followups');
    });
  });

  describe('In-progress', () => {
    it.each(LEAD_STATUSES)('should keep %s when the call is only live', (current) => {
      expect(nextLeadStatus(current, 'In-progress', 'Interested')).toBe(current);
    });
  });

  it('should cover every final call status', () => {
    for (const s of FINAL_CALL_STATUSES) expect(LEAD_STATUSES).toContain(nextLeadStatus('New', s));
  });
});

describe(leadStatusAfterFollowUpScheduled.name, () => {
  it.each(LEAD_STATUSES)('should become Followups when a call follow-up is scheduled and the lead is %s', (current) => {
    expect(leadStatusAfterFollowUpScheduled(current, 'call')).toBe('Followups');
  });

  it.each(['sms', 'webhook'] as const)('should stay unchanged when a %s follow-up is scheduled', (type) => {
    expect(leadStatusAfterFollowUpScheduled('Not Picked', type)).toBe('Not Picked');
  });
});
