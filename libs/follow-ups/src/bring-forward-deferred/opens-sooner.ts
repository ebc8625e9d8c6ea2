import { CallingWindow, checkWindow, effectiveWindow } from '@app/contacts';
import { OrgSettings } from '@app/settings';
import { DeferredFollowUp } from './deferred-follow-ups';

/**
 * Whether the window as it is now opens for the follow-up sooner than the opening it waits for: open now, or opening
 * before its job's time. Only those are run again: a change that leaves a follow-up's next opening where it was (a later
 * end, at the lead's night) would only defer it again, an event and a job each, for every deferred follow-up of the org
 * at every edit. Worked out as the executor does (the contact's zone or the org's, the campaign's narrowing); a window
 * that cannot be read is left to the executor.
 */
export function opensSooner(f: DeferredFollowUp, settings: Pick<OrgSettings, 'callingWindow' | 'timezone'>, now: Date): boolean {
  try {
    const check = checkWindow(now, f.timezone ?? settings.timezone, effectiveWindow(settings.callingWindow as CallingWindow, f.campaignWindow));
    const opening = check.inWindow ? now : check.nextOpening;
    return opening !== null && opening.getTime() < Date.parse(f.nextAttemptAt);
  } catch {
    return true;
  }
}
