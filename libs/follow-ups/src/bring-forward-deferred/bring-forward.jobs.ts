import { QueueName } from '@app/queue';

/** The sweep that makes an org's deferred follow-ups due at once after its calling window or timezone changed. */
export const BRING_FORWARD_DEFERRED = 'follow-ups.bring-forward';

export interface BringForwardPayload {
  orgId: string;
  /** Stream version of the SettingsChanged that moved the window: one sweep per change. */
  settingsVersion: number;
  /** Only the org's timezone moved: only contacts without a timezone of their own have another window. */
  timezoneOnly: boolean;
}

declare module '@app/queue' {
  interface JobPayloads {
    [BRING_FORWARD_DEFERRED]: BringForwardPayload;
  }
}

export const bringForwardJob = (p: BringForwardPayload, runAt: number) => ({
  name: BRING_FORWARD_DEFERRED,
  queue: QueueName.Maintenance,
  payload: p,
  jobId: `fu-forward.${p.orgId}.${p.settingsVersion}`,
  runAt,
});
