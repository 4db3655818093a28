// spec §3.1, §5.3: the `at` grammar is read by position (utc-timestamp.ts); it must accept,
// refuse and order exactly as the regular expression it replaced.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utcSortKey, utcTimestampProblem } from '../../src/codec/utc-timestamp.js';
import { propertySeed } from '../witness/seed.js';

const seed = propertySeed('utc-timestamp.test.ts');
const PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/** The regular-expression implementation the positional one replaced. */
function reference(ts: unknown): { problem?: 'form' | 'calendar'; key?: string } {
  const m = typeof ts === 'string' ? PATTERN.exec(ts) : null;
  if (m === null) return { problem: 'form' };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > days) return { problem: 'calendar' };
  if (hour > 23 || minute > 59 || second > 59) return { problem: 'calendar' };
  return { key: (ts as string).slice(0, 19) + (m[7] ?? '').padEnd(9, '0') };
}

const PIECES = ['0', '1', '2', '9', '3', '5', '6', '-', ':', 'T', 't', 'Z', 'z', '.', ' ', '+', '٣', '１', 'a', '00', '.123456789', '.1234567890', ''];

/** Timestamps near the grammar: valid ones (any date, hour, fraction length) with up to 3 edits. */
const nearTimestamp = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 14 }), fc.integer({ min: 0, max: 32 }),
    fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 }), fc.integer({ min: 0, max: 61 }),
    fc.string({ unit: fc.constantFrom('0', '1', '9'), maxLength: 11 }),
    fc.boolean(),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom(...PIECES), fc.integer({ min: 0, max: 2 })), { maxLength: 2 }),
  )
  .map(([y, mo, d, h, mi, s, frac, dot, edits]) => {
    const p2 = (n: number) => String(n).padStart(2, '0');
    let t = `${String(y).padStart(4, '0')}-${p2(mo)}-${p2(d)}T${p2(h)}:${p2(mi)}:${p2(s)}${dot ? '.' + frac : ''}Z`;
    for (const [pos, piece, mode] of edits) {
      const at = pos % (t.length + 1);
      t = mode === 0 ? t.slice(0, at) + piece + t.slice(at) : mode === 1 ? t.slice(0, at) + piece + t.slice(at + 1) : t.slice(0, at) + t.slice(at + 1);
    }
    return t;
  });

describe('utc timestamp grammar', () => {
  it('decides and orders every near-valid timestamp as the regular expression did', () => {
    let valid = 0;
    let calendar = 0;
    fc.assert(
      fc.property(fc.oneof({ arbitrary: nearTimestamp, weight: 8 }, fc.string({ maxLength: 32 }), fc.anything()), (ts) => {
        const want = reference(ts);
        if (want.key !== undefined) valid++;
        if (want.problem === 'calendar') calendar++;
        expect(utcTimestampProblem(ts)).toBe(want.problem);
        expect(utcSortKey(ts)).toBe(want.key);
      }),
      { seed, numRuns: 20_000 },
    );
    // The generator must reach both kinds of refusal and acceptance, or the comparison says little.
    console.log(`utc-timestamp: ${valid} accepted, ${calendar} refused as no real date`);
    expect(valid).toBeGreaterThan(1000);
    expect(calendar).toBeGreaterThan(1000);
  });

  it('fixed cases', () => {
    for (const ok of ['2026-01-02T03:04:05Z', '2026-01-02T03:04:05.6Z', '2024-02-29T23:59:59.123456789Z', '0001-01-01T00:00:00Z']) {
      expect(utcTimestampProblem(ok), ok).toBeUndefined();
    }
    for (const form of ['2026-01-02T03:04:05.Z', '2026-01-02T03:04:05.1234567890Z', '2026-01-02 03:04:05Z', '2026-01-02T03:04:05z', '2026-1-02T03:04:05Z', '+2026-01-02T03:04:05Z', '2026-01-02T03:04:05+00:00']) {
      expect(utcTimestampProblem(form), form).toBe('form');
    }
    for (const cal of ['0000-01-01T00:00:00Z', '2023-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T00:60:00Z', '2026-01-01T00:00:60Z']) {
      expect(utcTimestampProblem(cal), cal).toBe('calendar');
    }
    expect(utcSortKey('2026-01-02T03:04:05.5Z')! > utcSortKey('2026-01-02T03:04:05.25Z')!).toBe(true);
  });
});
