import { QueueName } from '@app/queue';

export const REASSIGN_LEAD = 'lead.reassign';

export interface ReassignLeadPayload {
  orgId: string;
  contactId: string;
  /** Stream version of the unreached event (call or lead status change) the job was made for. */
  triggerVersion: number;
}

declare module '@app/queue' {
  interface JobPayloads {
    [REASSIGN_LEAD]: ReassignLeadPayload;
  }
}

export const reassignJob = (p: ReassignLeadPayload, runAt: number) => ({
  name: REASSIGN_LEAD,
  queue: QueueName.Maintenance,
  payload: p,
  jobId: `reassign.${p.contactId}.${p.triggerVersion}`,
  runAt,
});
