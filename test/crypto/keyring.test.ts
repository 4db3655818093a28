import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Keyring, type KeyringEntry } from '../../src/crypto/keyring.js';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { utcSortKey } from '../../src/codec/utc-timestamp.js';
import { keyIdFor } from '../../src/crypto/domain.js';
import { SealedLedgerError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'sealed-ledger-keyring-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keyA = generateSigningKey({ name: 'example.com/a' });
const keyB = generateSigningKey({ name: 'example.com/b' });
const entryOf = (k: typeof keyA, extra: Partial<KeyringEntry> = {}): KeyringEntry => ({ kid: k.kid, name: k.name, publicKey: k.publicKey, ...extra });
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function errorOf(f: () => unknown): SealedLedgerError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SealedLedgerError);
    return e as SealedLedgerError;
  }
  throw new Error('expected an error');
}

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-02-01T00:00:00Z';

describe('Keyring', () => {
  it('add, get, has, list, size', () => {
    const ring = new Keyring([entryOf(keyA)]);
    ring.add(entryOf(keyB, { validFromSeq: 10 }));
    expect(ring.size).toBe(2);
    expect(ring.has(keyA.kid)).toBe(true);
    expect(ring.has('0'.repeat(16))).toBe(false);
    expect(ring.get(keyB.kid)).toMatchObject({ kid: keyB.kid, name: 'example.com/b', validFromSeq: 10 });
    expect(ring.list().map((e) => e.kid)).toEqual([keyA.kid, keyB.kid]);
    expect(ring.get('nope')).toBeUndefined();
  });

  it('hands out copies: mutating a returned entry cannot change the keyring', () => {
    const ring = new Keyring([entryOf(keyA)]);
    const e = ring.get(keyA.kid)!;
    e.publicKey.fill(0);
    expect(Object.isFrozen(e)).toBe(true);
    expect(b64(ring.get(keyA.kid)!.publicKey)).toBe(b64(keyA.publicKey));
  });

  it('add rejects bad keys (INVALID_KEY), a kid that is not the key id, and conflicting duplicates', () => {
    const ring = new Keyring([entryOf(keyA)]);
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const bad = errorOf(() => ring.add({ kid: keyIdFor(identity), name: 'x', publicKey: identity }));
    expect([bad.code, bad.message]).toEqual(['INVALID_KEY', expect.stringMatching(/small-order/)]);
    expect(errorOf(() => ring.add({ kid: keyA.kid, name: 'x', publicKey: keyB.publicKey })).code).toBe('INVALID_KEYRING');
    expect(ring.add(entryOf(keyA)).kid).toBe(keyA.kid); // identical: no-op
    const dup = errorOf(() => ring.add(entryOf(keyA, { name: 'example.com/renamed' })));
    expect([dup.code, dup.message]).toEqual(['INVALID_KEYRING', expect.stringMatching(/already in the keyring/)]);
    expect(errorOf(() => ring.add(entryOf(keyB, { validFromSeq: 5, retiredAtSeq: 5 }))).code).toBe('INVALID_KEYRING');
    expect(errorOf(() => ring.add(entryOf(keyB, { validFrom: T1, validUntil: T0 }))).code).toBe('INVALID_KEYRING');
    expect(errorOf(() => ring.add(entryOf(keyB, { name: 'a b' }))).code).toBe('INVALID_KEYRING');
  });

  it('rotation: a retired key keeps verifying old events and refuses new ones (spec §5.3)', () => {
    const ring = new Keyring([entryOf(keyA, { validFromSeq: 0, validFrom: T0 })]);
    ring.retire(keyA.kid, { seq: 100, at: T1 });
    ring.add(entryOf(keyB, { validFromSeq: 100, validFrom: T1 }));

    expect(ring.keyFor(keyA.kid, { seq: 99, at: '2026-01-31T23:59:59.999999999Z' }).kid).toBe(keyA.kid);
    expect(ring.keyFor(keyB.kid, { seq: 100, at: T1 }).kid).toBe(keyB.kid);

    const late = errorOf(() => ring.keyFor(keyA.kid, { seq: 100, at: '2026-01-15T00:00:00Z' }));
    expect(late.code).toBe('KEY_NOT_VALID');
    expect(late.message).toContain(`seq >= 0 and seq < 100 and at >= ${T0} and at < ${T1}`);
    // Same instant written with a fraction: still at the boundary, so not valid.
    expect(errorOf(() => ring.keyFor(keyA.kid, { seq: 5, at: '2026-02-01T00:00:00.000Z' })).code).toBe('KEY_NOT_VALID');
    expect(errorOf(() => ring.keyFor(keyA.kid, { seq: 5, at: '2025-12-31T23:59:59Z' })).code).toBe('KEY_NOT_VALID');
    const early = errorOf(() => ring.keyFor(keyB.kid, { seq: 99, at: T1 }));
    expect([early.code, early.message]).toEqual(['KEY_NOT_VALID', expect.stringContaining('seq >= 100')]);
    expect(errorOf(() => ring.keyFor('ffffffffffffffff', { seq: 1, at: T1 })).code).toBe('UNKNOWN_KEY');
  });

  it('retire: idempotent with the same values, refuses a second different retirement and bad windows', () => {
    const ring = new Keyring([entryOf(keyA, { validFromSeq: 10, validFrom: T0 })]);
    ring.retire(keyA.kid, { seq: 20, at: T1 });
    expect(ring.retire(keyA.kid, { seq: 20, at: T1 }).retiredAtSeq).toBe(20);
    expect(errorOf(() => ring.retire(keyA.kid, { seq: 30, at: T1 })).code).toBe('INVALID_KEYRING');
    expect(errorOf(() => ring.retire('ffffffffffffffff', { seq: 1, at: T1 })).code).toBe('UNKNOWN_KEY');
    const other = new Keyring([entryOf(keyB, { validFromSeq: 10, validFrom: T1 })]);
    expect(errorOf(() => other.retire(keyB.kid, { seq: 10, at: '2026-03-01T00:00:00Z' })).code).toBe('INVALID_KEYRING');
    expect(errorOf(() => other.retire(keyB.kid, { seq: 11, at: T0 })).code).toBe('INVALID_KEYRING');
    expect(other.get(keyB.kid)!.retiredAtSeq).toBeUndefined();
    for (const use of [{ seq: -1, at: T1 }, { seq: 1.5, at: T1 }, { seq: 1, at: '2026-01-01 00:00:00Z' }, { seq: 1, at: '2026-01-01T00:00:00+00:00' }]) {
      expect(errorOf(() => other.retire(keyB.kid, use)).code).toBe('INVALID_ARGUMENT');
      expect(errorOf(() => other.keyFor(keyB.kid, use)).code).toBe('INVALID_ARGUMENT');
    }
  });

  it('file format round-trips through toJSON/fromJSON and save/load', () => {
    const ring = new Keyring([entryOf(keyA, { validFrom: T0, validFromSeq: 0 }), entryOf(keyB)]);
    ring.retire(keyA.kid, { seq: 7, at: T1 });
    const json = JSON.parse(JSON.stringify(ring)) as { keys: Record<string, unknown>[] };
    expect(json).toEqual({
      type: 'sealed-ledger-keyring',
      v: 1,
      keys: [
        { kid: keyA.kid, name: 'example.com/a', publicKey: b64(keyA.publicKey), validFrom: T0, validUntil: T1, validFromSeq: 0, retiredAtSeq: 7 },
        { kid: keyB.kid, name: 'example.com/b', publicKey: b64(keyB.publicKey) },
      ],
    });
    expect(JSON.stringify(Keyring.fromJSON(JSON.stringify(ring)))).toBe(JSON.stringify(ring));
    expect(JSON.stringify(Keyring.fromJSON(json))).toBe(JSON.stringify(ring));

    const sub = mkdtempSync(join(dir, 'save-'));
    const p = join(sub, 'keyring.json');
    ring.save(p);
    ring.save(p); // overwrite in place
    expect(readdirSync(sub)).toEqual(['keyring.json']); // no temp file left behind
    expect(JSON.stringify(Keyring.load(p))).toBe(JSON.stringify(ring));
    expect(readFileSync(p, 'utf8').endsWith('\n')).toBe(true);
  });

  it('load: a missing file is IO_ERROR, a malformed one INVALID_KEYRING naming the path', () => {
    expect(errorOf(() => Keyring.load(join(dir, 'missing.json'))).code).toBe('IO_ERROR');
    const p = join(dir, 'bad-keyring.json');
    writeFileSync(p, '{"type":"sealed-ledger-keyring","v":1,"keys":[{}]}');
    const err = errorOf(() => Keyring.load(p));
    expect([err.code, err.message]).toEqual(['INVALID_KEYRING', expect.stringContaining(p)]);
    writeFileSync(p, Buffer.from([0x7b, 0xfe, 0x7d]));
    expect(errorOf(() => Keyring.load(p)).message).toMatch(/not valid UTF-8/);
  });

  it('fromJSON rejects every malformation with INVALID_KEYRING', () => {
    const good = { kid: keyA.kid, name: keyA.name, publicKey: b64(keyA.publicKey) };
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const file = (keys: unknown[], extra: Record<string, unknown> = {}) => ({ type: 'sealed-ledger-keyring', v: 1, keys, ...extra });
    const cases: [string, unknown, RegExp][] = [
      ['not JSON', '{"type":', /not valid JSON/],
      ['array', '[]', /JSON object/],
      ['null', null, /JSON object/],
      ['top-level field', file([], { extra: true }), /unknown field "extra"/],
      ['type', { ...file([]), type: 'x' }, /type must be/],
      ['v', { ...file([]), v: '1' }, /v must be 1/],
      ['keys', { ...file([]), keys: {} }, /keys must be an array/],
      ['entry not object', file([1]), /keys\[0\] must be an object/],
      ['entry field', file([{ ...good, note: 'x' }]), /keys\[0\] has an unknown field "note"/],
      ['base64', file([{ ...good, publicKey: good.publicKey.slice(0, -1) }]), /keys\[0\]\.publicKey must be canonical base64/],
      ['key length', file([{ ...good, publicKey: b64(new Uint8Array(31)) }]), /keys\[0\]\.publicKey: invalid Ed25519 public key: must be 32 bytes/],
      ['small-order key', file([{ ...good, kid: keyIdFor(identity), publicKey: b64(identity) }]), /small-order/],
      ['kid mismatch', file([{ ...good, kid: keyB.kid }]), /does not match its public key/],
      ['kid shape', file([{ ...good, kid: keyA.kid.toUpperCase() }]), /kid must be 16 lowercase hex/],
      ['duplicate', file([good, good]), /listed twice/],
      ['name', file([{ ...good, name: '' }]), /name must not be empty/],
      ['validFrom date', file([{ ...good, validFrom: '2026-02-30T00:00:00Z' }]), /validFrom must be an RFC 3339/],
      ['validFrom offset', file([{ ...good, validFrom: '2026-01-01T00:00:00+01:00' }]), /validFrom/],
      ['validUntil type', file([{ ...good, validUntil: 5 }]), /validUntil/],
      ['window order', file([{ ...good, validFrom: T1, validUntil: T0 }]), /later than validFrom/],
      ['seq', file([{ ...good, validFromSeq: -1 }]), /validFromSeq must be a non-negative integer/],
      ['seq float', file([{ ...good, retiredAtSeq: 1.5 }]), /retiredAtSeq/],
      ['seq order', file([{ ...good, validFromSeq: 3, retiredAtSeq: 3 }]), /greater than validFromSeq/],
    ];
    for (const [label, input, reason] of cases) {
      const err = errorOf(() => Keyring.fromJSON(input));
      expect(err.code, label).toBe('INVALID_KEYRING');
      expect(err.message, label).toMatch(reason);
    }
  });

  it('arbitrary input to fromJSON only ever yields INVALID_KEYRING', () => {
    const good = { kid: keyA.kid, name: keyA.name, publicKey: b64(keyA.publicKey), validFrom: T0, retiredAtSeq: 3 };
    const entry = fc.record(
      Object.fromEntries(Object.entries(good).map(([k, v]) => [k, fc.oneof(fc.constant(v), fc.jsonValue(), fc.anything())])),
      { requiredKeys: [] },
    );
    const input = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.anything(),
      fc.jsonValue().map((j) => JSON.stringify(j)),
      fc.array(entry, { maxLength: 3 }).map((keys) => ({ type: 'sealed-ledger-keyring', v: 1, keys })),
      fc.array(entry, { maxLength: 3 }).map((keys) => JSON.stringify({ type: 'sealed-ledger-keyring', v: 1, keys })),
    );
    fc.assert(
      fc.property(input, (x) => {
        try {
          Keyring.fromJSON(x);
        } catch (e) {
          expect(e).toBeInstanceOf(SealedLedgerError);
          expect((e as SealedLedgerError).code).toBe('INVALID_KEYRING');
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('timestamp order is chronological whatever the number of fractional digits', () => {
    const instant = fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true });
    const written = instant.chain((d) =>
      fc.integer({ min: 0, max: 6 }).map((extra) => {
        // Re-express the same millisecond with 0..9 fractional digits.
        const iso = d.toISOString();
        const frac = iso.slice(20, 23) + '0'.repeat(extra);
        const trimmed = frac.replace(/0+$/, '');
        return { ms: d.getTime(), text: `${iso.slice(0, 19)}${trimmed === '' ? '' : `.${trimmed}`}Z` };
      }),
    );
    fc.assert(
      fc.property(written, written, (a, b) => {
        const [ka, kb] = [utcSortKey(a.text), utcSortKey(b.text)];
        expect(ka).toBeDefined();
        expect(Math.sign(a.ms - b.ms)).toBe(Math.sign(ka! < kb! ? -1 : ka! > kb! ? 1 : 0));
      }),
      { numRuns: 1000 },
    );
    for (const bad of ['2026-13-01T00:00:00Z', '2025-02-29T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T00:00:60Z', '0000-01-01T00:00:00Z', '2026-01-01T00:00:00.1234567890Z']) {
      expect(utcSortKey(bad), bad).toBeUndefined();
    }
    expect(utcSortKey('2024-02-29T00:00:00Z')).toBeDefined();
  });
});
