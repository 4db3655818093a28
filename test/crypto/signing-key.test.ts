import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { keyIdFor } from '../../src/crypto/domain.js';
import { verifyEd25519 } from '../../src/crypto/ed25519.js';
import { keyNameProblem } from '../../src/crypto/key-name.js';
import {
  generateSigningKey,
  readSigningKeyFile,
  signingKeyFromSeed,
  writeSigningKeyFile,
  type SigningKey,
} from '../../src/crypto/signing-key.js';
import { SealedLedgerError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'sealed-ledger-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `key-${n++}.json`);
const posix = process.platform !== 'win32';

// RFC 8032 §7.1 TEST 1.
const SEED = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const SEED_B64 = SEED.toString('base64');
const SEED_HEX = SEED.toString('hex');
const PK_HEX = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';

function errorOf(f: () => unknown): SealedLedgerError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SealedLedgerError);
    return e as SealedLedgerError;
  }
  throw new Error('expected an error');
}

function writeRaw(content: string | Buffer, mode = 0o600): string {
  const p = fresh();
  writeFileSync(p, content, { mode });
  chmodSync(p, mode);
  return p;
}

function validFile(): Record<string, unknown> {
  const p = fresh();
  writeSigningKeyFile(signingKeyFromSeed(SEED, 'example.com/test'), p);
  return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
}

describe('signing keys', () => {
  it('generateSigningKey: kid from spec §5.1, default name, signatures verify, keys differ', () => {
    const a = generateSigningKey();
    const b = generateSigningKey();
    expect(a.kid).toBe(keyIdFor(a.publicKey));
    expect(a.kid).toMatch(/^[0-9a-f]{16}$/);
    expect(a.name).toBe(`ledger-${a.kid}`);
    expect(a.kid).not.toBe(b.kid);
    const msg = Buffer.from('hello');
    expect(verifyEd25519(a.publicKey, msg, a.sign(msg))).toBe(true);
    expect(verifyEd25519(b.publicKey, msg, a.sign(msg))).toBe(false);
    expect(generateSigningKey({ name: 'example.com/audit' }).name).toBe('example.com/audit');
  });

  it('signingKeyFromSeed reproduces RFC 8032 TEST 1', () => {
    const k = signingKeyFromSeed(SEED);
    expect(Buffer.from(k.publicKey).toString('hex')).toBe(PK_HEX);
    expect(Buffer.from(k.sign(new Uint8Array(0))).toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(() => signingKeyFromSeed(new Uint8Array(16))).toThrow(/32 bytes, got 16/);
  });

  it('publicKey is a copy: mutating it does not change the key', () => {
    const k = signingKeyFromSeed(SEED);
    k.publicKey.fill(0);
    expect(Buffer.from(k.publicKey).toString('hex')).toBe(PK_HEX);
  });

  it('the seed is not reachable through JSON, inspect, own properties or structuredClone', () => {
    const k = signingKeyFromSeed(SEED, 'example.com/secret-test');
    const views = [
      JSON.stringify(k),
      inspect(k),
      inspect(k, { showHidden: true, depth: null, customInspect: false }),
      JSON.stringify(Object.getOwnPropertyNames(k).map((p) => [p, String((k as unknown as Record<string, unknown>)[p])])),
      String(Object.getOwnPropertySymbols(k).length),
      inspect(structuredClone(k), { showHidden: true, depth: null }),
      `${k}`,
    ];
    for (const v of views) {
      expect(v).not.toContain(SEED_HEX);
      expect(v).not.toContain(SEED_B64);
      expect(v).not.toContain(inspect(Uint8Array.from(SEED)).slice(20, 60));
    }
    expect(JSON.parse(JSON.stringify(k))).toEqual({ kid: k.kid, name: 'example.com/secret-test', publicKey: Buffer.from(PK_HEX, 'hex').toString('base64') });
    expect(Object.keys(k).sort()).toEqual(['kid', 'name']);
  });

  it('key names follow spec §5.4', () => {
    for (const ok of ['a', 'example.com/ledger-1', 'ключ', 'ledger_😀', 'x'.repeat(256)]) expect(keyNameProblem(ok)).toBeUndefined();
    const bad = ['', ' ', 'a b', 'a+b', 'a\tb', 'a\nb', 'a\u00a0b', 'a\u2028b', 'a\u3000b', 'a\u0007b', 'a\u0085b', 'a\u200bb', 'a\ufeffb', 'a\ud800b', 'x'.repeat(257), 'é'.repeat(129)];
    for (const name of bad) {
      expect(keyNameProblem(name), JSON.stringify(name)).toBeDefined();
      expect(errorOf(() => generateSigningKey({ name })).code).toBe('INVALID_KEY');
    }
  });
});

describe('key files (spec §5.2)', () => {
  it('round-trips with mode 0600 and the documented fields', () => {
    const key = generateSigningKey({ name: 'example.com/rt' });
    const p = fresh();
    writeSigningKeyFile(key, p);
    if (posix) expect(statSync(p).mode & 0o777).toBe(0o600);
    const o = JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(o)).toEqual(['type', 'v', 'alg', 'kid', 'name', 'publicKey', 'seed']);
    expect(o).toMatchObject({ type: 'sealed-ledger-signing-key', v: 1, alg: 'ed25519', kid: key.kid, name: 'example.com/rt' });
    const back = readSigningKeyFile(p);
    expect([back.kid, back.name, Buffer.from(back.publicKey).toString('hex')]).toEqual([key.kid, key.name, Buffer.from(key.publicKey).toString('hex')]);
    const msg = Buffer.from('same signer');
    expect(Buffer.from(back.sign(msg)).equals(Buffer.from(key.sign(msg)))).toBe(true);
  });

  it('refuses to overwrite unless asked; overwrite replaces atomically and resets the mode to 0600', () => {
    const p = fresh();
    writeSigningKeyFile(generateSigningKey(), p);
    const err = errorOf(() => writeSigningKeyFile(generateSigningKey(), p));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(/already exists/);
    if (posix) chmodSync(p, 0o644);
    const second = generateSigningKey();
    writeSigningKeyFile(second, p, { overwrite: true });
    if (posix) expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(readSigningKeyFile(p).kid).toBe(second.kid);
  });

  it('an unwritable location is IO_ERROR', () => {
    const err = errorOf(() => writeSigningKeyFile(generateSigningKey(), join(dir, 'no-such-dir', 'k.json')));
    expect([err.code, err.message]).toEqual(['IO_ERROR', expect.stringMatching(/ENOENT/)]);
  });

  it('only keys made here can be written', () => {
    const foreign: SigningKey = { kid: '0'.repeat(16), name: 'hsm', publicKey: new Uint8Array(32), sign: () => new Uint8Array(64) };
    expect(errorOf(() => writeSigningKeyFile(foreign, fresh())).code).toBe('INVALID_ARGUMENT');
  });

  it.skipIf(!posix)('refuses a key file readable by group or others, naming the mode', () => {
    for (const [mode, shown] of [[0o644, '0644'], [0o640, '0640'], [0o604, '0604'], [0o660, '0660']] as const) {
      const p = fresh();
      writeSigningKeyFile(generateSigningKey(), p);
      chmodSync(p, mode);
      const err = errorOf(() => readSigningKeyFile(p));
      expect(err.code).toBe('INVALID_KEY');
      expect(err.message).toContain(`key file ${p} has mode ${shown}; must be 0600`);
    }
    const p = fresh();
    writeSigningKeyFile(generateSigningKey(), p);
    chmodSync(p, 0o400);
    expect(readSigningKeyFile(p).kid).toMatch(/^[0-9a-f]{16}$/);
  });

  it('rejects malformed content with INVALID_KEY, never echoing the seed', () => {
    const other = generateSigningKey();
    const otherFile = fresh();
    writeSigningKeyFile(other, otherFile);
    const otherSeed = (JSON.parse(readFileSync(otherFile, 'utf8')) as { seed: string }).seed;
    const v = validFile();
    const cases: [string, unknown, RegExp][] = [
      ['not JSON', JSON.stringify(v).slice(0, -3), /not valid JSON/],
      // V8's parser quotes short invalid input in its message: here, the seed itself.
      ['bare seed text', v.seed as string, /not valid JSON/],
      ['array', [v], /not a JSON object/],
      ['unknown field', { ...v, extra: 1 }, /unknown field/],
      ['missing seed', { ...v, seed: undefined }, /seed/],
      ['type', { ...v, type: 'other' }, /type/],
      ['v', { ...v, v: 2 }, /v must be 1/],
      ['alg', { ...v, alg: 'ed448' }, /alg/],
      ['kid shape', { ...v, kid: 'ABC' }, /kid must be 16/],
      ['kid mismatch', { ...v, kid: other.kid }, /kid does not match/],
      ['seed mismatch', { ...v, seed: otherSeed }, /does not derive the publicKey/],
      ['seed length', { ...v, seed: Buffer.alloc(31).toString('base64') }, /seed must be/],
      ['seed base64 loose', { ...v, seed: (v.seed as string).replace(/=$/, '') }, /seed must be/],
      ['publicKey not canonical base64', { ...v, publicKey: ` ${v.publicKey as string}` }, /publicKey must be/],
      ['name', { ...v, name: 'has space' }, /name must not contain/],
      ['name type', { ...v, name: 7 }, /name must be a string/],
    ];
    for (const [label, content, reason] of cases) {
      const p = writeRaw(typeof content === 'string' ? content : JSON.stringify(content));
      const err = errorOf(() => readSigningKeyFile(p));
      expect(err.code, label).toBe('INVALID_KEY');
      expect(err.message, label).toMatch(reason);
      const shown = JSON.stringify(err) + err.message + String(err.stack) + inspect(err, { depth: null });
      for (const secret of [v.seed as string, otherSeed]) {
        // Not even a fragment: V8's JSON errors quote about ten characters of the input.
        for (let i = 0; i + 8 <= secret.length; i++) expect(shown, label).not.toContain(secret.slice(i, i + 8));
      }
    }
  });

  it('rejects non-UTF-8, oversized, directories; a missing file is IO_ERROR', () => {
    expect(errorOf(() => readSigningKeyFile(writeRaw(Buffer.from([0x7b, 0xff, 0x7d])))).message).toMatch(/not valid UTF-8/);
    expect(errorOf(() => readSigningKeyFile(writeRaw('x'.repeat(70_000)))).message).toMatch(/larger than/);
    expect(errorOf(() => readSigningKeyFile(dir)).message).toMatch(/not a regular file/);
    const missing = errorOf(() => readSigningKeyFile(join(dir, 'nope.json')));
    expect(missing.code).toBe('IO_ERROR');
    expect(missing.message).toMatch(/ENOENT/);
  });

  it('arbitrary file content only ever yields SealedLedgerError', () => {
    const v = validFile();
    const mutated = fc.record(
      Object.fromEntries(Object.entries(v).map(([k, val]) => [k, fc.oneof(fc.constant(val), fc.jsonValue())])),
      { requiredKeys: [] },
    );
    const content = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.jsonValue().map((j) => JSON.stringify(j)),
      mutated.map((o) => JSON.stringify(o)),
    );
    const p = fresh();
    fc.assert(
      fc.property(content, (text) => {
        writeFileSync(p, text, { mode: 0o600 });
        try {
          readSigningKeyFile(p);
        } catch (e) {
          expect(e).toBeInstanceOf(SealedLedgerError);
        }
      }),
      { numRuns: 400 },
    );
  });
});
