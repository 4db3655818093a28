// spec §3 (sealing), §4 (signatures): frozen fixtures and single-bit-change properties.
import fc from 'fast-check';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/format/canonical.js';
import { GENESIS_PREV, type EventInput, type SealedEvent } from '../../src/format/event.js';
import { parseEventLine } from '../../src/format/event-line.js';
import { encodeBody, encodeLine, sealEvent, sealRecord, verifyEventSeal, withSignature } from '../../src/format/seal.js';
import { signatureFor, signEvent, verifyEventSignature } from '../../src/format/signature.js';
import { eventSignatureMessage } from '../../src/crypto/domain.js';
import { signingKeyFromSeed } from '../../src/crypto/signing-key.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { SealedLedgerError } from '../../src/errors.js';
import { codeOf } from '../helpers.js';

const fixtures = JSON.parse(fs.readFileSync(new URL('../vectors/events/format-v1.json', import.meta.url), 'utf8'));
const key = signingKeyFromSeed(Buffer.from(fixtures.key.seed, 'hex'), fixtures.key.name);
const keyring = new Keyring([{ kid: key.kid, name: key.name, publicKey: key.publicKey }]);


describe('frozen format v1 fixtures (spec §3.5)', () => {
  it('uses the RFC 8032 TEST 1 key', () => {
    expect(Buffer.from(key.publicKey).toString('hex')).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    expect(key.kid).toBe(fixtures.key.kid);
  });
  for (const f of fixtures.events) {
    it(f.desc, () => {
      let ev = sealEvent(f.input, { seq: f.seq, prev: f.prev });
      const { hash: _h, sig: _s, ...body } = ev;
      expect('00' + Buffer.from(canonicalize(body)).toString('hex')).toBe(f.hashInput);
      expect(ev.hash).toBe(f.hash);
      if (f.sig) {
        ev = signEvent(ev, key);
        expect(eventSignatureMessage(Buffer.from(ev.hash, 'hex')).toString('hex')).toBe(f.signedMessage);
        expect(ev.sig).toEqual(f.sig);
        verifyEventSignature(ev, keyring);
      }
      expect(canonicalize(ev)).toBe(f.line);
      expect(ev).toEqual(f.event);
      expect(parseEventLine(f.line).event).toEqual(f.event);
    });
  }
  it('chains: each fixture names the previous hash', () => {
    expect(fixtures.events[0].prev).toBe(GENESIS_PREV);
    for (let i = 1; i < fixtures.events.length; i++) expect(fixtures.events[i].prev).toBe(fixtures.events[i - 1].hash);
  });
});

const eventInput = fc.record(
  {
    kind: fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.:/-]{0,20}$/),
    payload: fc.jsonValue({ maxDepth: 3 }),
    actor: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s) && s.isWellFormed()),
    id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,30}$/),
  },
  { requiredKeys: ['kind', 'payload'] },
);
const sealedArb = fc
  .tuple(eventInput, fc.nat({ max: 1_000_000 }), fc.uint8Array({ minLength: 32, maxLength: 32 }))
  .map(([input, seq, prev]) => sealEvent(input as EventInput, { seq, prev: Buffer.from(prev).toString('hex') }));

describe('hand-built JCS equals the generic canonicalizer (spec §3.4)', () => {
  it('for bodies and lines, signed or not', () => {
    fc.assert(
      fc.property(sealedArb, fc.boolean(), (ev, sign) => {
        const e = sign ? signEvent(ev, key) : ev;
        const payloadJson = canonicalize(e.payload);
        const { hash: _h, sig: _s, ...body } = e;
        expect(encodeBody(body, payloadJson)).toBe(canonicalize(body));
        expect(encodeLine(e, payloadJson)).toBe(canonicalize(e));
      }),
      { numRuns: 500 },
    );
  });

  it('withSignature splices the sig into an unsigned line, and re-encodes a signed one (spec §4.1)', () => {
    const other = signingKeyFromSeed(Buffer.alloc(32, 9), 'other');
    fc.assert(
      fc.property(eventInput, fc.nat({ max: 1_000_000 }), (input, seq) => {
        const rec = sealRecord(input as EventInput, { seq, prev: GENESIS_PREV });
        const signed = withSignature(rec, signatureFor(rec.hash, key));
        expect(signed.line).toBe(canonicalize(signed.event));
        expect(signed.event).toEqual({ ...rec.event, sig: signatureFor(rec.hash, key) });
        // A second signature replaces the first: the line never carries two sig members.
        const again = withSignature(signed, signatureFor(rec.hash, other));
        expect(again.line).toBe(canonicalize(again.event));
        expect(again.event.sig?.kid).toBe(other.kid);
      }),
      { numRuns: 300 },
    );
  });
});

describe('any single-bit change fails verification with the right code (spec §3.3, §4.2)', () => {
  it('in the JSONL line: MALFORMED_LINE or SEAL_MISMATCH or INVALID_SIGNATURE, never accepted', () => {
    fc.assert(
      fc.property(sealedArb, fc.nat(), fc.nat({ max: 7 }), (ev, pos, bit) => {
        const signed = signEvent(ev, key);
        const line = Buffer.from(canonicalize(signed));
        const i = pos % line.length;
        line[i]! ^= 1 << bit;
        const text = line.toString('utf8');
        let code: string | undefined;
        try {
          const rec = parseEventLine(text);
          verifyEventSignature(rec.event, keyring);
        } catch (e) {
          code = e instanceof SealedLedgerError ? e.code : `foreign: ${String(e)}`;
        }
        expect(['MALFORMED_LINE', 'SEAL_MISMATCH', 'INVALID_SIGNATURE', 'UNKNOWN_KEY']).toContain(code);
      }),
      { numRuns: 1500 },
    );
  });
  it('in the signature bytes: INVALID_SIGNATURE', () => {
    fc.assert(
      fc.property(sealedArb, fc.nat({ max: 511 }), (ev, bitIndex) => {
        const signed = signEvent(ev, key);
        const sig = Buffer.from(signed.sig!.value, 'base64');
        sig[bitIndex >> 3]! ^= 1 << (bitIndex & 7);
        const tampered: SealedEvent = { ...signed, sig: { ...signed.sig!, value: sig.toString('base64') } };
        expect(codeOf(() => verifyEventSignature(tampered, keyring))).toBe('INVALID_SIGNATURE');
      }),
      { numRuns: 500 },
    );
  });
  it('in the hash: SEAL_MISMATCH', () => {
    fc.assert(
      fc.property(sealedArb, fc.nat({ max: 255 }), (ev, bitIndex) => {
        const h = Buffer.from(ev.hash, 'hex');
        h[bitIndex >> 3]! ^= 1 << (bitIndex & 7);
        expect(codeOf(() => verifyEventSeal({ ...ev, hash: h.toString('hex') }))).toBe('SEAL_MISMATCH');
      }),
      { numRuns: 300 },
    );
  });
});

describe('signature checks (spec §4.2)', () => {
  const ev = sealEvent({ kind: 'k', payload: 1 }, { seq: 0, prev: GENESIS_PREV });
  it('unsigned event: SIGNATURE_REQUIRED', () => expect(codeOf(() => verifyEventSignature(ev, keyring))).toBe('SIGNATURE_REQUIRED'));
  it('unknown kid: UNKNOWN_KEY', () => {
    const other = signingKeyFromSeed(Buffer.alloc(32, 7), 'other');
    expect(codeOf(() => verifyEventSignature(signEvent(ev, other), keyring))).toBe('UNKNOWN_KEY');
  });
  it('signature of another event: INVALID_SIGNATURE', () => {
    const ev2 = sealEvent({ kind: 'k', payload: 2 }, { seq: 0, prev: GENESIS_PREV });
    const swapped = { ...ev, sig: signEvent(ev2, key).sig! };
    expect(codeOf(() => verifyEventSignature(swapped, keyring))).toBe('INVALID_SIGNATURE');
  });
  it('retired key: KEY_NOT_VALID for events at or after retirement, still valid before', () => {
    const ring = new Keyring([{ kid: key.kid, name: key.name, publicKey: key.publicKey }]);
    ring.retire(key.kid, { seq: 5, at: '2030-01-01T00:00:00Z' });
    const before = signEvent(sealEvent({ kind: 'k', payload: 1, at: '2029-01-01T00:00:00Z' }, { seq: 4, prev: GENESIS_PREV }), key);
    const after = signEvent(sealEvent({ kind: 'k', payload: 1, at: '2029-01-01T00:00:00Z' }, { seq: 5, prev: GENESIS_PREV }), key);
    expect(codeOf(() => verifyEventSignature(before, ring))).toBeUndefined();
    expect(codeOf(() => verifyEventSignature(after, ring))).toBe('KEY_NOT_VALID');
  });
});

describe('encodeEventLine on a hand-built event (what a mutation run showed untested)', () => {
  const base = sealEvent({ kind: 'k', actor: 'a', id: 'i-1', at: '2026-01-01T00:00:00Z', payload: { n: 1 } }, { seq: 0, prev: GENESIS_PREV });
  const sig = { alg: 'ed25519' as const, kid: 'k'.repeat(16), value: 'A'.repeat(86) };

  it('names the field holding a lone surrogate (INVALID_JSON), for every string it escapes', () => {
    for (const [field, event] of [
      ['actor', { ...base, actor: 'x\uD800' }],
      ['at', { ...base, at: '\uDC00' }],
      ['id', { ...base, id: 'id-\uD83D' }],
      ['kind', { ...base, kind: '\uDFFFk' }],
      ['sig.kid', { ...base, sig: { ...sig, kid: '\uD800' } }],
      ['sig.value', { ...base, sig: { ...sig, value: '\uDBFF' } }],
    ] as const) {
      expect(() => encodeLine(event as SealedEvent, '1'), field).toThrow(
        expect.objectContaining({ code: 'INVALID_JSON', details: { path: field, reason: 'string contains a lone surrogate' } }),
      );
    }
    // A well-formed pair is fine, and escaped exactly as JCS does.
    expect(encodeLine({ ...base, actor: '\uD83D\uDE00' }, '1')).toContain('"actor":"\uD83D\uDE00"');
  });
});

describe('the payload size limit at its boundary (spec §3.1.1)', () => {
  const seal = (payload: string, maxPayloadBytes: number) =>
    sealEvent({ kind: 'k', payload }, { seq: 0, prev: GENESIS_PREV, limits: { maxPayloadBytes } });

  it('exactly maxPayloadBytes UTF-8 bytes pass; one more is INVALID_EVENT', () => {
    for (const unit of ['a', '\u00e9', '\u20ac', '\uD83D\uDE00']) {
      const payload = unit.repeat(50);
      const bytes = Buffer.byteLength(JSON.stringify(payload));
      expect(seal(payload, bytes).payload, unit).toBe(payload);
      expect(() => seal(payload, bytes - 1), unit).toThrow(
        expect.objectContaining({ code: 'INVALID_EVENT', details: { field: 'payload', reason: 'too large', limit: bytes - 1 } }),
      );
    }
  });
});
