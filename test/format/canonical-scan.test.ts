// spec §2, §3.4: the one-pass canonical-form test (canonical-scan.ts) never calls a text canonical
// that the canonicalizer would write differently, and parseEventLine decides every line exactly as
// the canonicalizer-based check it replaced: same event, hash and payload, or the same error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalTopMembers } from '../../src/format/canonical-scan.js';
import { canonicalize } from '../../src/format/canonical.js';
import { GENESIS_PREV, type EventInput } from '../../src/format/event.js';
import { assertSealedEventShape, checkEventLine, parseEventLine } from '../../src/format/event-line.js';
import { encodeBody, encodeLine, sealEvent } from '../../src/format/seal.js';
import { signEvent } from '../../src/format/signature.js';
import { leafHash } from '../../src/crypto/domain.js';
import { signingKeyFromSeed } from '../../src/crypto/signing-key.js';
import { InvalidInputError, VerificationError } from '../../src/errors.js';
import { propertySeed } from '../witness/seed.js';

const seed = propertySeed('canonical-scan.test.ts');
const key = signingKeyFromSeed(Buffer.alloc(32, 7), 'scan-test');

/** The check parseEventLine made before the scan: canonicalize the payload, re-encode, compare. */
function referenceParse(line: string): { event: unknown; hash: string; payloadJson: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new InvalidInputError('MALFORMED_LINE', 'not valid JSON');
  }
  assertSealedEventShape(parsed);
  const payloadJson = canonicalize(parsed.payload, { path: 'payload' });
  if (encodeLine(parsed, payloadJson) !== line) throw new InvalidInputError('MALFORMED_LINE', 'not in canonical (RFC 8785) form');
  const { hash: _h, sig: _s, ...body } = parsed;
  const hash = leafHash(encodeBody(body, payloadJson)).toString('hex');
  if (hash !== parsed.hash) throw new VerificationError('SEAL_MISMATCH', 'seal');
  return { event: parsed, hash, payloadJson };
}

function outcome(f: () => { event: unknown; hash: string | Buffer; payloadJson: string }): unknown {
  try {
    const r = f();
    return { ok: true, event: r.event, hash: Buffer.isBuffer(r.hash) ? r.hash.toString('hex') : r.hash, payloadJson: r.payloadJson };
  } catch (e) {
    // The reference's codes: INVALID_JSON and INVALID_EVENT from the payload and the shape are
    // MALFORMED_LINE in parseEventLine, which wraps them.
    const code = (e as { code?: string }).code;
    return { ok: false, code: code === 'INVALID_JSON' || code === 'INVALID_EVENT' ? 'MALFORMED_LINE' : code };
  }
}

// Edits that take a canonical text to a nearly canonical one: whitespace, other spellings of the
// same number or character, a repeated or reordered member, a lone surrogate, a raw control.
const EDITS = [' ', '\t', '\n', '\\/', '\\u0041', '\\u001F', '\\u001f', '\\u0008', '\\b', '\\u00e9', '\\ud83d\\ude00', '\\ud800', '\ud800',
  '\u0001', '\\"', '\\\\', '0', '-0', '1.0', '1e0', '1E1', '1e+21', '.5', '+1', '00', 'e', '-', ',', ':', '"a":1,', ',"a":1', '"b":1,', '"":0,', '"kind":"k",', ',"v":1', '{', '}', '[', ']',
  'true', 'null', '"', 'é', '😀', '\u2028'];

const edit = fc.tuple(fc.nat(), fc.constantFrom(...EDITS), fc.integer({ min: 0, max: 2 }));

function applyEdit(text: string, [pos, piece, mode]: [number, string, number]): string {
  const at = pos % (text.length + 1);
  if (mode === 0) return text.slice(0, at) + piece + text.slice(at); // insert
  if (mode === 1) return text.slice(0, at) + piece + text.slice(at + 1); // replace one unit
  return text.slice(0, at) + text.slice(at + piece.length); // delete
}

/** Texts near canonical JSON objects: canonical, insertion-ordered, indented, or edited. */
const nearCanonicalText = fc
  .tuple(
    fc.dictionary(fc.string({ unit: fc.constantFrom('a', 'b', 'B', '_', 'é', '\u0000', '"', '\\', '😀', '10', '2') }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
    fc.integer({ min: 0, max: 3 }),
    fc.array(edit, { maxLength: 2 }),
  )
  .map(([value, form, edits]) => {
    let text = form === 0 ? canonicalize(value) : form === 1 ? JSON.stringify(value) : form === 2 ? JSON.stringify(value, null, 1) : canonicalize(value);
    for (const e of edits) text = applyEdit(text, e);
    return text;
  });

describe('canonicalTopMembers', () => {
  it('calls a text canonical only when the canonicalizer writes exactly that text', () => {
    fc.assert(
      fc.property(nearCanonicalText, (text) => {
        if (canonicalTopMembers(text) === undefined) return true;
        return canonicalize(JSON.parse(text)) === text;
      }),
      { seed, numRuns: 20_000 },
    );
  });

  it('recognises every canonical object, and its members where they are', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 })), (value) => {
        const text = canonicalize(value);
        const members = canonicalTopMembers(text);
        expect(members).toBeDefined();
        expect(members!.map((m) => m.key)).toEqual(Object.keys(value).sort());
        for (const m of members!) {
          expect(JSON.parse(text.slice(m.keyStart, m.valueStart - 1))).toBe(m.key);
          expect(text.slice(m.valueStart, m.valueEnd)).toBe(canonicalize(value[m.key]));
        }
      }),
      { seed, numRuns: 2_000 },
    );
  });

  it('refuses what RFC 8785 forbids', () => {
    for (const t of ['{"b":1,"a":2}', '{"a":1,"a":1}', '{"a":1.0}', '{"a":1e3}', '{"a":-0}', '{"a":01}', '{ "a":1}', '{"a":"\\/"}', '{"a":"\\u0041"}',
      '{"a":"\\u001F"}', '{"a":"\\u000a"}', '{"a":"\\ud800"}', '{"a":"\ud800"}', '{"a":"\u0001"}', '{"a":1}x', '[1]', '{"a":1e400}', '{"a":tru}',
      // Integers past 2^53 that Number::toString writes differently, and leading zeros.
      '{"a":9007199254740993}', '{"a":-9007199254740993}', '{"a":12345678901234567}', '{"a":00}', '{"a":-01}', '{"a":-}', '{"a":[{"y":1,"x":2}]}', '{"a":{"x":{},"x":1}}']) {
      expect(canonicalTopMembers(t), t).toBeUndefined();
    }
    for (const t of ['{}', '{"a":[]}', '{"":0,"a":-1.5,"b":"\\u001f\\n\\"\\\\é😀","c":1e+21,"d":[null,true,false,{}]}',
      '{"a":999999999999999,"b":-999999999999999,"c":9007199254740992,"d":0,"e":-7}']) {
      expect(canonicalTopMembers(t), t).toBeDefined();
    }
  });

  it('keeps the canonicalizer depth limit of the payload', () => {
    const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
    // The payload is one level below the line's object: 128 nested arrays are the most allowed.
    expect(canonicalTopMembers(`{"p":${nest(128)}}`)).toBeDefined();
    expect(canonicalTopMembers(`{"p":${nest(129)}}`)).toBeUndefined();
    expect(() => canonicalize(JSON.parse(nest(128)))).not.toThrow();
    expect(() => canonicalize(JSON.parse(nest(129)))).toThrow();
  });
});

const eventArb = fc
  .record(
    {
      kind: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.:/-]{0,12}$/),
      payload: fc.jsonValue({ maxDepth: 3 }),
      actor: fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s) && s.isWellFormed()),
      id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,12}$/),
    },
    { requiredKeys: ['kind', 'payload', 'id'] },
  )
  .chain((input) =>
    fc.tuple(fc.constant(input), fc.nat({ max: 1_000_000 }), fc.boolean(), fc.array(edit, { maxLength: 2 })),
  )
  .map(([input, seq, sign, edits]) => {
    let ev = sealEvent({ ...input, at: '2026-03-04T05:06:07.089Z' } as EventInput, { seq, prev: GENESIS_PREV });
    if (sign) ev = signEvent(ev, key);
    let line = encodeLine(ev, canonicalize(ev.payload));
    for (const e of edits) line = applyEdit(line, e);
    return line;
  });

/** checkEventLine's answer in referenceParse's terms: the event without its payload. */
function checkOutcome(line: string): unknown {
  return outcome(() => {
    const r = checkEventLine(line);
    return { event: r.event, hash: r.event.hash, payloadJson: r.payloadJson };
  });
}

function withoutPayload(o: unknown): unknown {
  const r = o as { ok: boolean; event?: Record<string, unknown> };
  if (!r.ok || r.event === undefined) return o;
  const { payload: _p, ...event } = r.event;
  return { ...r, event };
}

// Values that break one member's rule while the line stays canonical JSON, so the one-pass
// reader (not the canonicalizer fallback) must refuse them exactly as the shape check does.
const ODD_VALUES = [null, true, false, 0, -1, 1.5, 1e21, 2 ** 53, '', 'x', 'A'.repeat(64), '0'.repeat(63), '2026-02-30T00:00:00Z', '2026-03-04T05:06:07Z',
  'a\u0000b', 'é', 'ok"quote', 'back\\slash', [], {}, { alg: 'ed25519' }, { alg: 'ed25519', kid: 'k', value: 'A'.repeat(86) + '==' }, [1, 'a']];
const FIELDS = ['v', 'seq', 'id', 'at', 'kind', 'actor', 'payload', 'prev', 'hash', 'sig', 'extra', '__proto__', 'constructor', '0'];

/**
 * Canonical lines of events with one or two members replaced, removed or added, resealed or not:
 * every line passes the canonical scan, so the shape and seal decide.
 */
const canonicalOddArb = fc
  .tuple(
    eventArb.filter((l) => canonicalTopMembers(l) !== undefined),
    fc.array(fc.tuple(fc.constantFrom(...FIELDS), fc.option(fc.constantFrom(...ODD_VALUES), { nil: undefined })), { minLength: 1, maxLength: 2 }),
    fc.boolean(),
  )
  .map(([line, changes, reseal]) => {
    const o = JSON.parse(line) as Record<string, unknown>;
    for (const [k, v] of changes) {
      if (v === undefined) delete o[k];
      else Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    if (reseal) {
      const { hash: _h, sig: _s, ...body } = o;
      o.hash = leafHash(canonicalize(body as never)).toString('hex');
    }
    return canonicalize(o as never);
  });

describe('parseEventLine', () => {
  it('decides every near-canonical line as the canonicalizer-based check did', () => {
    fc.assert(
      fc.property(eventArb, (line) => {
        const want = outcome(() => referenceParse(line));
        expect(outcome(() => parseEventLine(line))).toEqual(want);
        expect(checkOutcome(line)).toEqual(withoutPayload(want));
      }),
      { seed, numRuns: 5_000 },
    );
  });

  it('decides canonical lines with odd members as the canonicalizer-based check did', () => {
    const seen = { ok: 0, seal: 0, malformed: 0 };
    fc.assert(
      fc.property(canonicalOddArb, (line) => {
        expect(canonicalTopMembers(line), line).toBeDefined();
        const want = outcome(() => referenceParse(line)) as { ok: boolean; code?: string };
        if (want.ok) seen.ok++;
        else if (want.code === 'SEAL_MISMATCH') seen.seal++;
        else seen.malformed++;
        expect(outcome(() => parseEventLine(line))).toEqual(want);
        expect(checkOutcome(line)).toEqual(withoutPayload(want));
      }),
      { seed, numRuns: 5_000 },
    );
    console.log(`canonical odd lines: ${seen.ok} accepted, ${seen.seal} SEAL_MISMATCH, ${seen.malformed} MALFORMED_LINE`);
    expect(Math.min(seen.ok, seen.seal, seen.malformed)).toBeGreaterThan(50);
  });

  it('gives the same error message and details as before for a canonical line', () => {
    const line = canonicalize({ ...JSON.parse(encodeLine(sealEvent({ kind: 'k', payload: 1, id: 'i', at: '2026-03-04T05:06:07.089Z' }, { seq: 3, prev: GENESIS_PREV }), '1')), seq: -1 } as never);
    for (const f of [parseEventLine, checkEventLine]) {
      expect(() => f(line, { lineNo: 4, offset: 10 })).toThrow(expect.objectContaining({ code: 'MALFORMED_LINE', message: 'line 4: seq must be a non-negative integer', details: { lineNo: 4, offset: 10, reason: 'seq must be a non-negative integer' } }));
    }
  });
});
