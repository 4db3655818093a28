// spec §3.1: input validation. Every bad input is a typed INVALID_EVENT / INVALID_JSON error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { prepareEvent, sealEvent } from '../../src/format/seal.js';
import { GENESIS_PREV, uuidv7, validateAt } from '../../src/format/event.js';
import { utcSortKey } from '../../src/codec/utc-timestamp.js';
import { SealedLedgerError } from '../../src/errors.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof SealedLedgerError ? `${e.code}:${String(e.details.field ?? e.details.path ?? '')}` : `foreign: ${String(e)}`;
  }
  return undefined;
}

const ok = { kind: 'user.login', payload: { a: 1 } };

describe('event input validation (spec §3.1)', () => {
  const bad: [string, unknown, string][] = [
    ['not an object', 'x', 'INVALID_EVENT:event'],
    ['array', [], 'INVALID_EVENT:event'],
    ['unknown field', { ...ok, extra: 1 }, 'INVALID_EVENT:extra'],
    ['missing kind', { payload: 1 }, 'INVALID_EVENT:kind'],
    ['kind with space', { ...ok, kind: 'a b' }, 'INVALID_EVENT:kind'],
    ['kind starting with digit', { ...ok, kind: '1a' }, 'INVALID_EVENT:kind'],
    ['kind too long', { ...ok, kind: 'a'.repeat(129) }, 'INVALID_EVENT:kind'],
    ['missing payload', { kind: 'k' }, 'INVALID_EVENT:payload'],
    ['undefined payload', { kind: 'k', payload: undefined }, 'INVALID_EVENT:payload'],
    ['NaN payload', { kind: 'k', payload: NaN }, 'INVALID_JSON:payload'],
    ['bigint in payload', { kind: 'k', payload: { n: 1n } }, 'INVALID_JSON:payload.n'],
    ['lone surrogate in payload', { kind: 'k', payload: ['\ud83d'] }, 'INVALID_JSON:payload[0]'],
    ['empty actor', { ...ok, actor: '' }, 'INVALID_EVENT:actor'],
    ['actor with newline', { ...ok, actor: 'a\nb' }, 'INVALID_EVENT:actor'],
    ['id with slash', { ...ok, id: 'a/b' }, 'INVALID_EVENT:id'],
    ['empty id', { ...ok, id: '' }, 'INVALID_EVENT:id'],
    ['at without Z', { ...ok, at: '2026-01-02T03:04:05+01:00' }, 'INVALID_EVENT:at'],
    ['at not a date', { ...ok, at: '2026-02-30T00:00:00Z' }, 'INVALID_EVENT:at'],
    ['at hour 24', { ...ok, at: '2026-02-03T24:00:00Z' }, 'INVALID_EVENT:at'],
    ['at 10 fraction digits', { ...ok, at: '2026-02-03T00:00:00.0123456789Z' }, 'INVALID_EVENT:at'],
  ];
  for (const [name, input, code] of bad) {
    it(`rejects ${name}`, () => expect(codeOf(() => prepareEvent(input as never))).toBe(code));
  }
  it('enforces the payload limit on canonical UTF-8 bytes (default 1 MiB)', () => {
    const limits = { maxPayloadBytes: 100 };
    expect(codeOf(() => prepareEvent({ kind: 'k', payload: 'x'.repeat(98) }, { limits }))).toBeUndefined();
    expect(codeOf(() => prepareEvent({ kind: 'k', payload: 'x'.repeat(99) }, { limits }))).toBe('INVALID_EVENT:payload');
    // 40 euro signs: 42 UTF-16 units, 122 UTF-8 bytes
    expect(codeOf(() => prepareEvent({ kind: 'k', payload: '€'.repeat(40) }, { limits }))).toBe('INVALID_EVENT:payload');
    expect(codeOf(() => prepareEvent({ kind: 'k', payload: 'x'.repeat(1024 * 1024) }))).toBe('INVALID_EVENT:payload');
  });
  it('accepts leap-year dates and nanosecond fractions', () => {
    expect(validateAt('2028-02-29T23:59:59.123456789Z')).toBe('2028-02-29T23:59:59.123456789Z');
  });
  it('accepts years 0001-0099 (Date.UTC would read them as 19xx)', () => {
    expect(validateAt('0050-06-15T00:00:00Z')).toBe('0050-06-15T00:00:00Z');
    expect(codeOf(() => validateAt('0000-06-15T00:00:00Z'))).toBe('INVALID_EVENT:at');
  });
  it('event `at` and key windows share one timestamp grammar (spec §3.1, §5.3)', () => {
    // Fields around their edges: years near 0 and near leap centuries, month 0-13, day 0-32, …
    const field = (min: number, max: number, width: number) => fc.integer({ min, max }).map((n) => String(n).padStart(width, '0'));
    const year = fc.oneof(field(0, 120, 4), field(1890, 2110, 4), field(9990, 9999, 4));
    const nearlyValid = fc.tuple(year, field(0, 13, 2), field(0, 32, 2), field(0, 25, 2), field(0, 61, 2), field(0, 61, 2),
      fc.option(fc.stringMatching(/^[0-9]{1,10}$/)), fc.constantFrom('Z', 'Z', 'z', '+00:00'))
      .map(([y, mo, d, h, mi, s, f, z]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${f === null ? '' : `.${f}`}${z}`);
    fc.assert(
      fc.property(fc.oneof(nearlyValid, fc.string()), (ts) => {
        expect(codeOf(() => validateAt(ts)) === undefined).toBe(utcSortKey(ts) !== undefined);
      }),
      { numRuns: 2000 },
    );
  });
  it('generates UUIDv7 ids and RFC 3339 timestamps when absent', () => {
    const p = prepareEvent(ok, { now: () => new Date('2026-05-06T07:08:09.010Z') });
    expect(p.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(p.id.slice(0, 13).replace('-', '')).toBe(Date.parse('2026-05-06T07:08:09.010Z').toString(16).padStart(12, '0'));
    expect(p.at).toBe('2026-05-06T07:08:09.010Z');
    expect(uuidv7()).not.toBe(uuidv7());
  });
  it('does not keep references to the caller payload', () => {
    const payload = { list: [1, 2] };
    const ev = sealEvent({ kind: 'k', payload }, { seq: 0, prev: GENESIS_PREV });
    payload.list.push(3);
    expect(ev.payload).toEqual({ list: [1, 2] });
  });
});
