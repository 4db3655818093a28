/**
 * Ordering of RFC 3339 UTC timestamps in the event `at` form (spec §3.1): fixed-width fields,
 * "Z", up to 9 fractional digits. The one grammar for event `at` (validateAt) and key validity
 * windows (spec §5.3).
 */

const PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Why `ts` is not an accepted timestamp: 'form' when it is not written as above, 'calendar' when
 * it names no real UTC date and time (February 30, hour 24); undefined when it is accepted.
 */
export function utcTimestampProblem(ts: unknown): 'form' | 'calendar' | undefined {
  return parse(ts).problem;
}

/**
 * A string whose lexicographic order is the chronological order of `ts`, or undefined if `ts`
 * is not a real UTC date and time in the accepted form. Fields are fixed-width, so only the
 * fraction needs padding to compare "…:05.5Z" and "…:05.25Z" correctly.
 */
export function utcSortKey(ts: unknown): string | undefined {
  const { match } = parse(ts);
  return match === undefined ? undefined : (ts as string).slice(0, 19) + (match[7] ?? '').padEnd(9, '0');
}

function parse(ts: unknown): { match?: RegExpExecArray; problem?: 'form' | 'calendar' } {
  const m = typeof ts === 'string' ? PATTERN.exec(ts) : null;
  if (m === null) return { problem: 'form' };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return { problem: 'calendar' };
  if (hour > 23 || minute > 59 || second > 59) return { problem: 'calendar' };
  return { match: m };
}
