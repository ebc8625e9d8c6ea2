const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * The calendar date of an instant in a time zone, as a day number (days since 1970-01-01). One cached Intl
 * formatter per zone: the hub and the report projections run this for every row or event, where building a
 * luxon DateTime each time cost 8–39 ms per 200 rows.
 */
export function localDayNumber(at: Date, timezone: string): number {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, year: 'numeric', month: 'numeric', day: 'numeric' });
    formatters.set(timezone, f);
  }
  const parts = f.formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return Date.UTC(get('year'), get('month') - 1, get('day')) / DAY_MS;
}

/** The calendar date of an instant in a time zone, `YYYY-MM-DD` (a call at 23:30 local lands on its local day). */
export function localDate(at: Date, timezone: string): string {
  return new Date(localDayNumber(at, timezone) * DAY_MS).toISOString().slice(0, 10);
}
