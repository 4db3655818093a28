// spec §20.3/§20.4: the reader's batches, the backoff's bounds, Retry-After, and the reply table.
// fast-check prints the seed and path of any failure; replay with { seed, path }.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Backoff, parseRetryAfter } from '../../src/ship/backoff.js';
import { EventsReader } from '../../src/ship/events-reader.js';
import { replyAction } from '../../src/ship/reply-action.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function fileOf(lines: string[], tail = ''): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const p = path.join(t.dir, 'events.jsonl');
  fs.writeFileSync(p, lines.map((l) => l + '\n').join('') + tail);
  return p;
}

const line = (seq: number, pad = 10) => JSON.stringify({ seq, at: `2026-01-01T00:00:${String(seq % 60).padStart(2, '0')}Z`, pad: 'x'.repeat(pad) });

describe('EventsReader', () => {
  it('property: batches cover the file exactly, by lines and bytes, never the torn tail', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 0, maxLength: 60 }),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.string({ maxLength: 30 }).filter((s) => !s.includes('\n')),
        async (pads, maxLines, maxBytes, tail) => {
          const lines = pads.map((p, i) => line(i, p));
          const file = fileOf(lines, tail);
          const r = await EventsReader.open(file);
          try {
            const end = await r.size();
            let at = { seq: 0, offset: 0 };
            const got: string[] = [];
            for (;;) {
              const b = await r.readBatch(at, end, maxLines, maxBytes);
              if (!b) break;
              expect(b.lines).toBeLessThanOrEqual(maxLines);
              if (b.lines > 1) expect(b.bytes.length).toBeLessThanOrEqual(maxBytes);
              expect(b.firstSeq).toBe(at.seq);
              got.push(...b.bytes.toString().split('\n').slice(0, -1));
              at = { seq: b.lastSeq + 1, offset: b.endOffset };
            }
            expect(got).toEqual(lines);
            const loc = await r.locate(lines.length, end);
            expect(loc).toMatchObject({ found: false, count: lines.length });
            if (lines.length > 3) {
              const mid = await r.locate(3, end);
              expect(mid.found && fs.readFileSync(file, 'utf8').slice(mid.offset).startsWith(lines[3]!)).toBe(true);
              expect(await r.lastLine(end)).toMatchObject({ seq: lines.length - 1 });
            }
          } finally {
            await r.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a line longer than maxBytes goes alone; a line out of place is refused, not shipped', async () => {
    const file = fileOf([line(0, 5000), line(1), line(5)]);
    const r = await EventsReader.open(file);
    cleanups.push(() => void r.close());
    const end = await r.size();
    const b = await r.readBatch({ seq: 0, offset: 0 }, end, 100, 100);
    expect(b).toMatchObject({ lines: 1, firstSeq: 0, lastSeq: 0 });
    await expect(r.readBatch({ seq: 1, offset: b!.endOffset }, end, 100, 10_000)).rejects.toMatchObject({ code: 'LEDGER_CORRUPT' });
  });
});

describe('backoff (spec §20.4)', () => {
  it('property: full jitter stays within [0, min(max, min * 2^n)]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 400_000 }), fc.array(fc.double({ min: 0, max: 0.9999999, noNaN: true }), { maxLength: 50 }), (min, extra, draws) => {
        const max = min + extra;
        let i = 0;
        const b = new Backoff({ minMs: min, maxMs: max }, () => draws[i++] ?? 0.5);
        for (let n = 0; n < draws.length; n++) {
          const d = b.next();
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(Math.min(max, min * 2 ** n));
        }
      }),
    );
  });

  it('defaults: 1 s first ceiling, 5 min cap; reset starts over', () => {
    const b = new Backoff({ minMs: 1000, maxMs: 300_000 }, () => 0.999999);
    const ds = Array.from({ length: 12 }, () => b.next());
    expect(ds[0]).toBe(999);
    expect(ds[11]).toBe(299_999);
    b.reset();
    expect(b.next()).toBe(999);
  });

  it('Retry-After: seconds or HTTP-date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('reply table (spec §20.4)', () => {
  const r = (status: number, body: Record<string, unknown> = {}, retryAfter?: string) => replyAction({ status, body, retryAfter });
  it('maps every status the protocol defines', () => {
    expect(r(200, { next: 5, accepted: 3, duplicates: 2 })).toEqual({ kind: 'advance', next: 5, accepted: 3, duplicates: 2 });
    expect(r(200, {}).kind).toBe('protocol');
    expect(r(409, { code: 'SEQ_GAP', next: 4 })).toEqual({ kind: 'rewind', next: 4 });
    expect(r(409, { code: 'FORK', seq: 7, message: 'm' })).toMatchObject({ kind: 'fork', seq: 7 });
    expect(r(413).kind).toBe('shrink');
    expect(r(422, { code: 'UNKNOWN_KEY', seq: 9, next: 9, reason: 'kid' })).toMatchObject({ kind: 'poison', code: 'UNKNOWN_KEY', seq: 9, next: 9, reason: 'kid' });
    for (const s of [401, 403, 404]) expect(r(s).kind).toBe('auth');
    expect(r(429, {}, '2')).toMatchObject({ kind: 'transient', retryAfter: '2' });
    expect(r(503, {}, '2')).toMatchObject({ kind: 'transient', retryAfter: '2' });
    for (const s of [500, 502, 504]) expect(r(s)).toMatchObject({ kind: 'transient', retryAfter: undefined });
    for (const s of [400, 415, 409]) expect(r(s).kind).toBe('protocol');
  });
});
