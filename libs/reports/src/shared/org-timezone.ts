import { StoredEvent } from '@app/event-store';

/**
 * Event types that set an organization's timezone: created with one, then the settings' `timezone`.
 * A report projection keeps its own copy of each org's timezone from these events (never the live settings
 * table), so replaying the log buckets every call in the timezone the org had when the event came in, and a
 * rebuild equals the live tables. A timezone change applies from then on; `projection:rebuild` re-buckets history.
 */
export const ORG_TIMEZONE_EVENT_TYPES = ['OrganizationCreated', 'SettingsInitialized', 'SettingsChanged'] as const;

/** The org timezone an event sets, or null when it sets none. */
export function orgTimezoneSetBy(e: StoredEvent): { orgId: string; timezone: string } | null {
  switch (e.type) {
    case 'OrganizationCreated':
      return typeof e.data?.timezone === 'string' ? { orgId: e.orgId, timezone: e.data.timezone } : null;
    case 'SettingsInitialized':
      return typeof e.data?.settings?.timezone === 'string' ? { orgId: e.orgId, timezone: e.data.settings.timezone } : null;
    case 'SettingsChanged':
      return typeof e.data?.changes?.timezone === 'string' ? { orgId: e.orgId, timezone: e.data.changes.timezone } : null;
    default:
      return null;
  }
}
