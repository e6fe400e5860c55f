/**
 * ISO 8601 in UTC or with an explicit offset: a bare date (midnight UTC) or a date-time ending in
 * `Z`/`±hh:mm`. A date-time without a zone is rejected: JavaScript would read it as server-local time.
 */
export const ISO_INSTANT_PATTERN =
  /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/**
 * The instant an ISO 8601 string names, or undefined when it names none: another shape, no zone,
 * or a day the calendar lacks (`Date` would roll 2026-02-30 over into March).
 */
export function parseIsoInstant(value: string): Date | undefined {
  if (!ISO_INSTANT_PATTERN.test(value)) return undefined;
  const instant = new Date(value);
  if (Number.isNaN(instant.getTime())) return undefined;
  const [year, month, day] = value.slice(0, 10).split('-').map(Number);
  // setUTCFullYear, not Date.UTC: Date.UTC reads the years 0–99 as 1900–1999.
  const calendarDay = new Date(0);
  calendarDay.setUTCFullYear(year, month - 1, day);
  const exists =
    calendarDay.getUTCFullYear() === year &&
    calendarDay.getUTCMonth() === month - 1 &&
    calendarDay.getUTCDate() === day;
  return exists ? instant : undefined;
}

/**
 * class-transformer `@Transform` for an instant in a DTO: a Date when the string is one (see
 * parseIsoInstant), else an invalid Date for `@IsDate` to reject.
 */
export const toIsoInstant = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? (parseIsoInstant(value) ?? new Date(NaN)) : value;
