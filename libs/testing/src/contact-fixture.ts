import type { ContactCreatedData } from '@app/contacts';

/**
 * The contact the contact decider's unit specs start from (imported by path, `@app/testing/contact-fixture`, so a
 * unit spec loads none of the app the rest of libs/testing brings).
 */
export const FIXTURE_CONTACT_ID = 'c1';

export const fixtureContact: ContactCreatedData = {
  contactId: FIXTURE_CONTACT_ID,
  name: 'Sarah Lee',
  phone: '+14155550100',
  timezone: 'America/New_York',
  leadQuality: 'WARM',
  leadStatus: 'New',
  assignedAgentId: 'a1',
  tags: ['vip'],
  campaignId: 'camp1',
  status: 'ACTIVE',
};
