import { CallDirection, CallStatus, FollowUpPriority, FollowUpSource, FollowUpType, LeadStatus } from '../domain';

/** The §5 fields of a follow-up to schedule, as a client sends them (defaults applied by the handler). */
export interface FollowUpFields {
  type?: FollowUpType;
  scheduledAt?: string;
  agentId?: string | null;
  priority?: FollowUpPriority;
  maxAttempts?: number;
  allowOutOfWindow?: boolean;
  notes?: string | null;
  campaignId?: string | null;
  source?: FollowUpSource;
  message?: string | null;
  url?: string | null;
}

/** One call as a dialler pushes it (SPEC §9). */
export interface CallPush {
  callId: string;
  contactId: string;
  agentId: string;
  direction: CallDirection;
  status: CallStatus;
  durationSec: number;
  startedAt: string;
  note?: string | null;
  leadStatus?: LeadStatus | null;
  campaignId?: string | null;
  tags?: string[];
  followUpId?: string | null;
  followUp?: FollowUpFields;
  callbackAt?: string;
  reason?: string | null;
}

export interface CallPushResult {
  status: 'accepted' | 'duplicate';
  callId: string;
  contactId: string;
  leadStatus: LeadStatus;
  followUpId: string | null;
}
