import { isIPv4, isIPv6 } from 'node:net';
import { isIanaTimeZone, isKnownTimeZone, ValidationError } from '@app/shared';
import { isIpLiteral, isPublicAddress } from '@app/shared';
import {
  ASSIGNMENT_SCOPES,
  ASSIGNMENT_STRATEGIES,
  END_HH_MM,
  HH_MM,
  PublicSettings,
  RECYCLABLE_STATUSES,
  SETTINGS_LIMITS,
  SettingsPatch,
  WEEK_DAYS,
} from './settings';

export interface SettingsProblem {
  /** Full path of the field, e.g. `callingWindow.end`. */
  readonly field: string;
  /** Starts with the field's path. */
  readonly message: string;
}

const HOST_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** Lower case, no brackets around an IPv6 literal, canonical IPv6 form, no trailing dot. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (isIPv6(h)) return new URL(`http://[${h}]/`).hostname.slice(1, -1);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** A hostname (RFC 1123 labels; `_` tolerated, as container names use it) or an IP literal. No port, no scheme. */
export function isValidHost(host: string): boolean {
  if (typeof host !== 'string' || host.length === 0 || host.length > 253) return false;
  const h = normalizeHost(host);
  if (isIPv4(h) || isIPv6(h)) return true;
  if (/^[0-9.]+$/.test(h)) return false; // looks like an IPv4 address but is not one (e.g. 1.2.3, 999.1.1.1)
  return h.split('.').every((label) => HOST_LABEL.test(label));
}

/** Names that resolve to loopback by definition (RFC 6761), refused without a DNS lookup. */
const isLoopbackName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/**
 * Why an outbound URL (dialler, SMS provider, webhook) is refused, or null when it is acceptable: it must be an
 * absolute http(s) URL without credentials; plain http, or a private/loopback IP literal, only to a host in
 * `allowHttpHosts`. This is the static check; the sender also checks every address the host resolves to.
 */
export function outboundUrlProblem(url: string, allowHttpHosts: readonly string[]): string | null {
  const parsed = httpUrl(url);
  if (!parsed) return NOT_HTTP_URL;
  const host = normalizeHost(parsed.hostname);
  if (!isHostAllowed(host, allowHttpHosts)) {
    if (parsed.protocol === 'http:') return `must use https: plain http is allowed only to a host listed in webhooks.allowHttpHosts (${host} is not)`;
    if ((isIpLiteral(host) && !isPublicAddress(host)) || isLoopbackName(host)) {
      return `points to a private or loopback address (${host}), allowed only to a host listed in webhooks.allowHttpHosts`;
    }
  }
  // Never sent (requests carry only the signature), yet stored and shown: to every role for the dialler and SMS
  // provider (GET /api/settings), to anyone who sees a webhook follow-up. Refused, neither leaked nor dropped unseen.
  if (parsed.username || parsed.password) return 'must not contain a user name or password: requests are authenticated by their signature';
  return null;
}

const NOT_HTTP_URL = 'must be an absolute http(s) URL';

function httpUrl(url: string): URL | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  return (parsed.protocol === 'https:' || parsed.protocol === 'http:') && parsed.hostname ? parsed : null;
}

export const isHostAllowed = (host: string, allowHttpHosts: readonly string[]): boolean => {
  const h = normalizeHost(host);
  return allowHttpHosts.some((a) => normalizeHost(a) === h);
};

const isInt = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasDuplicates = (xs: readonly unknown[]) => new Set(xs).size !== xs.length;

/**
 * Every rule of SPEC §7 over a whole (merged) settings object; empty when it is valid. `patch`, what the client sent,
 * decides which field a rule between two fields names: the one the client can see it got wrong.
 */
export function settingsProblems(s: PublicSettings, patch: SettingsPatch = {}): SettingsProblem[] {
  const problems: SettingsProblem[] = [];
  const add = (field: string, message: string) => problems.push({ field, message: `${field} ${message}` });
  const int = (field: string, value: unknown, { min, max }: { min: number; max: number }) => {
    if (!isInt(value, min, max)) add(field, `must be an integer from ${min} to ${max}`);
  };

  // A zone the client sends must be an IANA name; one stored before that rule (an abbreviation Intl reads) stays valid.
  const zoneOk = patch.timezone !== undefined ? isIanaTimeZone(s.timezone) : isKnownTimeZone(s.timezone);
  if (!zoneOk) add('timezone', 'must be an IANA time zone such as Europe/London');

  const cw = s.callingWindow;
  if (!isObject(cw)) add('callingWindow', 'must be an object');
  else {
    if (!Array.isArray(cw.days) || cw.days.length === 0) add('callingWindow.days', 'must be a non-empty array of mon, tue, wed, thu, fri, sat, sun');
    else if (!cw.days.every((d) => (WEEK_DAYS as readonly unknown[]).includes(d)))
      add('callingWindow.days', 'must contain only mon, tue, wed, thu, fri, sat, sun');
    else if (hasDuplicates(cw.days)) add('callingWindow.days', 'must not repeat a day');
    const startOk = typeof cw.start === 'string' && HH_MM.test(cw.start);
    const endOk = typeof cw.end === 'string' && END_HH_MM.test(cw.end);
    if (!startOk) add('callingWindow.start', 'must be HH:MM (24 h), from 00:00 to 23:59');
    if (!endOk) add('callingWindow.end', 'must be HH:MM (24 h), up to 24:00 (the end of the day)');
    // zero-padded, so the strings compare as the times do, 24:00 last
    if (startOk && endOk && cw.end <= cw.start) {
      // The field the client sent is the one to fix: a start sent alone past the stored end names the start.
      const sent: { start?: unknown; end?: unknown } = isObject(patch.callingWindow) ? patch.callingWindow : {};
      if (sent.start !== undefined && sent.end === undefined) add('callingWindow.start', `must be before callingWindow.end (${cw.end})`);
      else add('callingWindow.end', `must be after callingWindow.start (${cw.start})`);
    }
  }

  int('snoozeDays', s.snoozeDays, SETTINGS_LIMITS.snoozeDays);
  int('expireAfterDays', s.expireAfterDays, SETTINGS_LIMITS.expireAfterDays);
  int('retryDelaySeconds', s.retryDelaySeconds, SETTINGS_LIMITS.retryDelaySeconds);
  int('attemptTimeoutSeconds', s.attemptTimeoutSeconds, SETTINGS_LIMITS.attemptTimeoutSeconds);

  const aa = s.autoAssignment;
  if (!isObject(aa)) add('autoAssignment', 'must be an object');
  else {
    if (typeof aa.enabled !== 'boolean') add('autoAssignment.enabled', 'must be a boolean');
    if (!Array.isArray(aa.statuses) || !aa.statuses.every((x) => (RECYCLABLE_STATUSES as readonly unknown[]).includes(x))) {
      add('autoAssignment.statuses', `must be an array of ${RECYCLABLE_STATUSES.join(', ')}`);
    } else if (hasDuplicates(aa.statuses)) add('autoAssignment.statuses', 'must not repeat a status');
    int('autoAssignment.delaySeconds', aa.delaySeconds, SETTINGS_LIMITS.delaySeconds);
    if (!(ASSIGNMENT_STRATEGIES as readonly unknown[]).includes(aa.strategy))
      add('autoAssignment.strategy', `must be one of ${ASSIGNMENT_STRATEGIES.join(', ')}`);
    if (!(ASSIGNMENT_SCOPES as readonly unknown[]).includes(aa.scope)) add('autoAssignment.scope', `must be one of ${ASSIGNMENT_SCOPES.join(', ')}`);
    int('autoAssignment.maxReassignments', aa.maxReassignments, SETTINGS_LIMITS.maxReassignments);
  }

  let hosts: readonly string[] = [];
  const wh = s.webhooks;
  if (!isObject(wh)) add('webhooks', 'must be an object');
  else if (!Array.isArray(wh.allowHttpHosts) || wh.allowHttpHosts.length > SETTINGS_LIMITS.allowHttpHosts.max) {
    add('webhooks.allowHttpHosts', `must be an array of at most ${SETTINGS_LIMITS.allowHttpHosts.max} hostnames or IP addresses`);
  } else if (!wh.allowHttpHosts.every((h) => isValidHost(h))) {
    add('webhooks.allowHttpHosts', 'must contain only hostnames or IP addresses (no scheme, port or path)');
  } else hosts = wh.allowHttpHosts;

  for (const section of ['dialler', 'sms'] as const) {
    const endpoint = s[section];
    if (!isObject(endpoint)) {
      add(section, 'must be an object');
      continue;
    }
    const url = endpoint.url;
    if (url === null) continue;
    if (typeof url !== 'string' || url.length > SETTINGS_LIMITS.url.maxLength) {
      add(`${section}.url`, `must be null or an absolute http(s) URL of at most ${SETTINGS_LIMITS.url.maxLength} characters`);
      continue;
    }
    const problem = outboundUrlProblem(url, hosts);
    if (problem) add(`${section}.url`, problem);
  }
  return problems;
}

/** Throws a ValidationError naming every bad field. */
export function assertValidSettings(settings: PublicSettings, patch?: SettingsPatch): void {
  const problems = settingsProblems(settings, patch);
  if (problems.length) throw ValidationError.of(problems);
}

/**
 * The problems of a patch that hold whatever the stored settings are, for the API to name beside its DTO's refusal
 * (SPEC §9: every bad field in one 400): an endpoint URL that is no absolute http(s) URL (every URL rule when the patch
 * gives the allowed hosts itself), a calling window given whole that ends before it starts. The rules that read the
 * stored settings (the window's other bound, the hosts allowed) are the decider's, on the merged settings, once the
 * patch is read. `patch` may hold anything (fields the DTO refused are skipped).
 */
export function settingsPatchProblems(patch: Record<string, unknown>): SettingsProblem[] {
  const problems: SettingsProblem[] = [];
  const add = (field: string, message: string) => problems.push({ field, message: `${field} ${message}` });
  const cw = patch.callingWindow;
  if (isObject(cw) && typeof cw.start === 'string' && HH_MM.test(cw.start) && typeof cw.end === 'string' && END_HH_MM.test(cw.end) && cw.end <= cw.start) {
    add('callingWindow.end', `must be after callingWindow.start (${cw.start})`);
  }
  const wh = patch.webhooks;
  const sent = isObject(wh) ? wh.allowHttpHosts : undefined;
  const hosts = Array.isArray(sent) && sent.length <= SETTINGS_LIMITS.allowHttpHosts.max && sent.every((h) => isValidHost(h)) ? (sent as string[]) : null;
  for (const section of ['dialler', 'sms'] as const) {
    const endpoint = patch[section];
    const url = isObject(endpoint) ? endpoint.url : undefined;
    if (typeof url !== 'string' || url.length > SETTINGS_LIMITS.url.maxLength) continue;
    const problem = hosts ? outboundUrlProblem(url, hosts) : httpUrl(url) ? null : NOT_HTTP_URL;
    if (problem) add(`${section}.url`, problem);
  }
  return problems;
}
