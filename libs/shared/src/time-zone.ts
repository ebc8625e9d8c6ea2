/**
 * Time-zone names. Node's Intl (ICU) accepts more than the IANA database: besides IANA's own names and links (UTC,
 * EST, US/Eastern, Asia/Calcutta), it takes the three-letter ids of Java's old TimeZone class, which read like
 * abbreviations and are not: BST is Asia/Dhaka (+06:00), not British Summer Time; IST Asia/Kolkata, not Irish or
 * Israel time; AST America/Anchorage, not Atlantic; SST Pacific/Guadalcanal, not Samoa. A UK call centre typing
 * "BST" would have had its leads rung at 03:00. So a name a client sends must be an IANA name (isIanaTimeZone); a
 * name already stored, which an earlier version may have accepted, is still read as Intl reads it (isKnownTimeZone),
 * so nothing stored stops working.
 */

/**
 * ICU's Java-compatibility ids that are not IANA names (the JDK's ZoneInfoFile "oldMappings" and its other
 * three-letter ids; EST, MST and HST are also IANA names and are not here), and the SystemV/* zones IANA dropped in
 * 2020. Compared upper-cased: Intl matches names case-insensitively.
 */
const ICU_ONLY = new Set(
  'ACT AET AGT ART AST BET BST CAT CNT CST CTT EAT ECT IET IST JST MIT NET NST PLT PNT PRT PST SST VST'.split(' '),
);
const isIcuOnly = (zone: string): boolean => ICU_ONLY.has(zone.toUpperCase()) || /^systemv\//i.test(zone);

/**
 * Zones Intl has accepted. Building a DateTimeFormat costs ~50 µs, and the calling window checks the contact's zone on
 * every execution; valid zones are a few hundred names, so remembering them is bounded (invalid ones are not).
 */
const knownZones = new Set<string>();

/** Intl can compute with it: for names already stored. Reads no clock. */
export function isKnownTimeZone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || zone === '') return false;
  if (knownZones.has(zone)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    knownZones.add(zone);
    return true;
  } catch {
    return false;
  }
}

/** A name of the IANA time-zone database (a zone or one of its links): for names a client sends. */
export function isIanaTimeZone(zone: unknown): zone is string {
  return isKnownTimeZone(zone) && !isIcuOnly(zone);
}
