import { CallStatus, FollowUpType, LeadStatus, isSpokenTo } from './contact.events';

/** What a `Called` push may ask the lead to become; anything else leaves the lead as it was. */
export const REQUESTABLE_LEAD_STATUSES: readonly LeadStatus[] = ['Interested', 'Not Interested', 'Followups'];

/**
 * SPEC §4: the lead status after a call with `callStatus`. `requested` is the push's `leadStatus`, read for
 * `Called` only. A live `In-progress` call changes nothing.
 */
export function nextLeadStatus(current: LeadStatus, callStatus: CallStatus, requested?: LeadStatus | null): LeadStatus {
  switch (callStatus) {
    case 'Called':
      return requested && REQUESTABLE_LEAD_STATUSES.includes(requested) ? requested : current;
    case 'Busy':
    case 'No Answer':
      return isSpokenTo(current) ? current : 'Not Picked';
    case 'Missed':
      return isSpokenTo(current) ? current : 'Missed';
    case 'Follow up':
    case 'Rescheduled':
      return 'Followups';
    case 'In-progress':
      return current;
  }
}

/** SPEC §4, last row: scheduling a call follow-up (any source) moves the lead to Followups; sms and webhook do not. */
export function leadStatusAfterFollowUpScheduled(current: LeadStatus, type: FollowUpType): LeadStatus {
  return type === 'call' ? 'Followups' : current;
}
