import { QueueName } from '@app/queue';

export const REASSIGN_LEAD = 'lead.reassign';

export interface ReassignLeadPayload {
  orgId: string;
  contactId: string;
  /** Stream version of the unreached event (call or lead status change) the job was made for. */
  triggerVersion: number;
}

/** The sweep that makes re-check jobs for an org's leads already in a recycled status when its rules widen (SPEC §7). */
export const REASSIGN_BACKLOG = 'lead.reassign-backlog';

export interface ReassignBacklogPayload {
  orgId: string;
  /** Stream version of the SettingsChanged that widened the rules: one sweep per change. */
  settingsVersion: number;
}

declare module '@app/queue' {
  interface JobPayloads {
    [REASSIGN_LEAD]: ReassignLeadPayload;
    [REASSIGN_BACKLOG]: ReassignBacklogPayload;
  }
}

export const reassignJob = (p: ReassignLeadPayload, runAt: number) => ({
  name: REASSIGN_LEAD,
  queue: QueueName.Maintenance,
  payload: p,
  jobId: `reassign.${p.contactId}.${p.triggerVersion}`,
  runAt,
});

export const reassignBacklogJob = (p: ReassignBacklogPayload) => ({
  name: REASSIGN_BACKLOG,
  queue: QueueName.Maintenance,
  payload: p,
  jobId: `reassign-backlog.${p.orgId}.${p.settingsVersion}`,
});
