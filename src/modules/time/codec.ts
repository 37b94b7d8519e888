// XEP-0082 date-time formats used by XEP-0202.

/** "+hh:mm" / "-hh:mm" from Date#getTimezoneOffset() (minutes west of UTC). */
export function formatTzo(offsetMinutesWest: number): string {
  const east = -offsetMinutesWest;
  const sign = east < 0 ? "-" : "+";
  const abs = Math.abs(east);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${sign}${hh}:${mm}`;
}

/** XEP-0082 DateTime in UTC, e.g. 2026-11-21T07:45:00.123Z. */
export function formatUtc(date: Date): string {
  return date.toISOString();
}
