// spec §18.3.8: a check worker's packed answer unpacks to the very lines it checked, whatever
// the ids and times hold (characters outside ASCII and the BMP, `at` of any accepted length).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CheckedLine } from '../../src/collector/batch-lines.js';
import { packLines, unpackLines } from '../../src/collector/check-wire.js';

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const line = fc.record({
  seq: fc.maxSafeNat(),
  id: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  at: fc.constantFrom('2026-01-01T00:00:00Z', '2026-01-01T00:00:00.5Z', '2026-01-01T00:00:00.123456789Z'),
  prev: hex64,
  hash: hex64,
  text: fc.string({ unit: 'grapheme', maxLength: 60 }),
});

describe('packLines / unpackLines', () => {
  it('round-trip every field, the bytes as views into the body at the slice offset', () => {
    const seed = Date.now();
    console.log(`check-wire property seed ${seed}`);
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.nat({ max: 50 }), (rows, offset) => {
        const prefix = Buffer.alloc(offset, 0x20);
        const slice = Buffer.from(rows.map((r) => r.text + '\n').join(''));
        const body = Buffer.concat([prefix, slice]);
        const sliceInBody = body.subarray(offset);
        let at = 0;
        const lines: CheckedLine[] = rows.map((r) => {
          const n = Buffer.byteLength(r.text);
          const l = { seq: r.seq, id: r.id, at: r.at, prev: r.prev, hash: r.hash, bytes: slice.subarray(at, at + n) };
          at += n + 1;
          return l;
        });
        const packed = packLines(lines, slice);
        // What the worker posts is cloned: the string and a copy of the numbers.
        const out: CheckedLine[] = [];
        unpackLines({ nums: new Float64Array(packed.nums), text: packed.text }, body, offset, out);
        expect(out.map(({ bytes, ...l }) => ({ ...l, bytes: bytes.toString() }))).toEqual(lines.map(({ bytes, ...l }) => ({ ...l, bytes: bytes.toString() })));
        for (const l of out) expect(l.bytes.buffer).toBe(sliceInBody.buffer);
      }),
      { numRuns: 200, seed },
    );
  });
});
