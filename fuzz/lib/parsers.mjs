/**
 * Parser fuzzing: everything that reads untrusted bytes gets arbitrary input and mutations of
 * valid input, and must return a value or throw a SealedLedgerError (never another error, never
 * a hang, never a write). Where a parser accepts, an independent oracle checks what it returned.
 * Parsers: parseEventLine, canonicalize, Keyring.fromJSON, readSigningKeyFile, parseNote,
 * parseCheckpoint, parseVerifierKey, the JSONL reader (JsonlFile.lines, verifyLedger,
 * verifyEventSetParity, replayJsonlIntoSqlite, Ledger.open) on arbitrary events.jsonl bytes, and
 * the CLI's stdin (readInputLines in-process, and `sealed-ledger append` as a process).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import jcs from 'canonicalize';
import fc from 'fast-check';
import * as O from './oracle.mjs';

/** A call that takes longer than this counts as a hang. */
const SLOW_MS = 3000;

/** Run `f`; a non-SealedLedgerError (or a slow call) is a violation of `property`. */
export function typedOrValue(lib, property, what, f) {
  const t = performance.now();
  let value;
  let error;
  try {
    value = f();
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - t;
  if (ms > SLOW_MS) throw new O.PropertyViolation(property, `${what} took ${ms.toFixed(0)} ms`);
  if (error !== undefined && !(error instanceof lib.SealedLedgerError)) {
    throw new O.PropertyViolation(property, `${what} threw an untyped ${O.describeError(error)}`);
  }
  return { value, error };
}

export async function typedOrValueAsync(lib, property, what, f) {
  const t = performance.now();
  let value;
  let error;
  try {
    value = await f();
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - t;
  if (ms > SLOW_MS) throw new O.PropertyViolation(property, `${what} took ${ms.toFixed(0)} ms`);
  if (error !== undefined && !(error instanceof lib.SealedLedgerError)) {
    throw new O.PropertyViolation(property, `${what} threw an untyped ${O.describeError(error)}`);
  }
  return { value, error };
}

/** Byte-level mutations of a valid sample: flips, inserts, deletes, splices, cuts, duplicates. */
export function mutatedBytes(samples) {
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('flip'), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('insert'), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ op: fc.constant('insert-text'), at: fc.nat(), text: fc.constantFrom('"', '\\', ',', '{', '}', '[', ']', ':', ' ', '\n', '\r', '0', '-', 'e9', 'null', '\u2028', '\ud800', '\u00e9', '\u{1f600}', '\u0000') }),
    fc.record({ op: fc.constant('delete'), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ op: fc.constant('cut'), at: fc.nat() }),
    fc.record({ op: fc.constant('dup'), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) }),
  );
  return fc.tuple(fc.constantFrom(...samples), fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([sample, ms]) => {
    let b = Buffer.from(sample);
    for (const m of ms) {
      const at = b.length === 0 ? 0 : m.at % (b.length + 1);
      if (m.op === 'flip' && b.length > 0) b[at % b.length] = m.value;
      else if (m.op === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
      else if (m.op === 'insert-text') b = Buffer.concat([b.subarray(0, at), Buffer.from(m.text), b.subarray(at)]);
      else if (m.op === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
      else if (m.op === 'cut') b = b.subarray(0, at);
      else if (m.op === 'dup') b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + m.n), b.subarray(at)]);
    }
    return b;
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: false });

/** Strings: arbitrary (with lone surrogates), JSON-ish, and mutations of `samples`. */
function stringInputs(samples) {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.json({ maxDepth: 3 }),
    mutatedBytes(samples.map((s) => Buffer.from(s))).map((b) => UTF8.decode(b)),
  );
}

/** Valid samples of every input kind, from the library itself. */
export function validSamples(lib) {
  const key = lib.signingKeyFromSeed(Buffer.alloc(32, 9), 'example.org/fuzz');
  const ev = lib.signEvent(lib.sealEvent({ kind: 'user.login', id: 'ev-1', at: '2026-01-02T03:04:05.678Z', actor: 'zoë', payload: { a: [1, 2.5, 'x'], b: null } }, { seq: 3, prev: 'ab'.repeat(32) }), key);
  const line = lib.encodeEventLine(ev, lib.canonicalize(ev.payload));
  const unsigned = lib.encodeEventLine({ ...lib.sealEvent({ kind: 'k', payload: 1, id: 'x', at: '2026-01-01T00:00:00Z' }, { seq: 0, prev: O.GENESIS_PREV }) }, '1');
  const keyring = new lib.Keyring([{ kid: key.kid, name: key.name, publicKey: key.publicKey, validFromSeq: 2 }]);
  const checkpoint = lib.formatCheckpoint({ origin: 'example.org/log', size: 5, rootHash: Buffer.alloc(32, 4) });
  const note = lib.signNote(checkpoint, [key]);
  const verifierKey = lib.verifierKeyString(key.name, key.publicKey);
  return { key, lines: [line, unsigned], keyring: JSON.stringify(keyring), keyringObject: JSON.parse(JSON.stringify(keyring)), checkpoint, note, verifierKey };
}

export function parseEventLineProperty(lib) {
  const s = validSamples(lib);
  return fc.property(stringInputs(s.lines), (text) => {
    const { value } = typedOrValue(lib, 'parser-typed', `parseEventLine(${JSON.stringify(text).slice(0, 80)})`, () => lib.parseEventLine(text));
    if (value) {
      // Accepting means: this exact text is the canonical form of what it parsed to.
      if (value.line !== text || jcs(JSON.parse(text)) !== text) {
        throw new O.PropertyViolation('parser-typed', `parseEventLine accepted a line that is not canonical: ${JSON.stringify(text).slice(0, 200)}`);
      }
    }
  });
}

/** Values canonicalize must accept or refuse with INVALID_JSON; accepted ones match the oracle. */
function canonicalInputs() {
  const cyclic = fc.constant(null).map(() => {
    const o = { a: 1 };
    o.self = o;
    return o;
  });
  const deep = fc.integer({ min: 100, max: 5000 }).map((n) => {
    let v = 0;
    for (let i = 0; i < n; i++) v = i % 2 ? [v] : { k: v };
    return v;
  });
  return fc.oneof(
    fc.jsonValue(),
    fc.anything({ withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withSparseArray: true, withTypedArray: true, maxDepth: 3 }),
    fc.constantFrom(undefined, NaN, Infinity, -Infinity, -0, 1e21, 5e-324, () => 1, Symbol('s'), 10n, '\ud800', { a: undefined }, [undefined], new Date(0), /x/, { toJSON: () => 1 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 6 }),
    cyclic,
    deep,
  );
}

export function canonicalizeProperty(lib) {
  return fc.property(canonicalInputs(), (value) => {
    const { value: out, error } = typedOrValue(lib, 'parser-typed', 'canonicalize', () => lib.canonicalize(value));
    if (error && error.code !== 'INVALID_JSON') throw new O.PropertyViolation('parser-typed', `canonicalize failed with ${error.code}, not INVALID_JSON`);
    if (out !== undefined) {
      const oracle = jcs(value);
      if (out !== oracle) throw new O.PropertyViolation('parser-typed', `canonicalize gave ${out.slice(0, 120)}, the RFC 8785 oracle ${String(oracle).slice(0, 120)}`);
    }
  });
}

export function keyringProperty(lib) {
  const s = validSamples(lib);
  const objects = fc.oneof(
    fc.constant(s.keyringObject),
    fc.record({ type: fc.constantFrom('sealed-ledger-keyring', 'x'), v: fc.constantFrom(1, 2, '1'), keys: fc.array(fc.dictionary(fc.constantFrom('kid', 'name', 'publicKey', 'validFromSeq', 'retiredAtSeq', 'validFrom', 'validUntil', 'extra'), fc.oneof(fc.string(), fc.integer(), fc.constant(s.keyringObject.keys[0].publicKey)))) }),
    fc.anything({ maxDepth: 2 }),
  );
  return fc.property(fc.oneof(stringInputs([s.keyring]), objects), (input) => {
    const { value } = typedOrValue(lib, 'parser-typed', 'Keyring.fromJSON', () => lib.Keyring.fromJSON(input));
    if (value) {
      const again = lib.Keyring.fromJSON(JSON.stringify(value));
      if (JSON.stringify(again) !== JSON.stringify(value)) throw new O.PropertyViolation('parser-typed', 'an accepted keyring does not round-trip');
    }
  });
}

export function signingKeyFileProperty(lib, dir) {
  const key = lib.signingKeyFromSeed(Buffer.alloc(32, 0x5a), 'example.org/key-file');
  const file = path.join(dir, 'valid.key');
  fs.rmSync(file, { force: true });
  lib.writeSigningKeyFile(key, file);
  const valid = fs.readFileSync(file);
  const seedB64 = Buffer.alloc(32, 0x5a).toString('base64');
  let n = 0;
  return fc.property(fc.oneof(mutatedBytes([valid]), fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u))), fc.constantFrom(0o600, 0o600, 0o644), (bytes, mode) => {
    const f = path.join(dir, `k${n++}.key`);
    fs.writeFileSync(f, bytes, { mode });
    fs.chmodSync(f, mode);
    try {
      const { error } = typedOrValue(lib, 'parser-typed', 'readSigningKeyFile', () => lib.readSigningKeyFile(f));
      if (error) {
        const shown = `${error.message} ${JSON.stringify(error.details)} ${JSON.stringify(error)}`;
        // A key file's error must never echo the seed, whole or half (spec §5.2).
        if (shown.includes(seedB64) || shown.includes(seedB64.slice(0, 22))) throw new O.PropertyViolation('parser-typed', 'a key file error shows the seed');
      }
    } finally {
      fs.rmSync(f, { force: true });
    }
  });
}

export function noteProperty(lib) {
  const s = validSamples(lib);
  const inputs = fc.oneof(stringInputs([s.note, s.checkpoint]), mutatedBytes([Buffer.from(s.note)]));
  return fc.property(inputs, fc.constantFrom(...[s.verifierKey]), (input, vkey) => {
    typedOrValue(lib, 'parser-typed', 'parseNote', () => lib.parseNote(input));
    if (typeof input === 'string') typedOrValue(lib, 'parser-typed', 'parseCheckpoint', () => lib.parseCheckpoint(input));
    typedOrValue(lib, 'parser-typed', 'verifyNote', () => lib.verifyNote(input, [vkey]));
  });
}

export function verifierKeyProperty(lib) {
  const s = validSamples(lib);
  return fc.property(stringInputs([s.verifierKey]), (text) => {
    const { value } = typedOrValue(lib, 'parser-typed', 'parseVerifierKey', () => lib.parseVerifierKey(text));
    if (value && lib.verifierKeyString(value.name, value.publicKey) !== text) {
      throw new O.PropertyViolation('parser-typed', `parseVerifierKey accepted a non-canonical key ${JSON.stringify(text)}`);
    }
  });
}

/**
 * events.jsonl holding arbitrary bytes (or a mutated valid ledger): the reader keeps every byte
 * accounted for, the read-only tools change nothing, and everything returns or throws typed.
 */
export function jsonlReaderProperty(lib, pristine, root) {
  let n = 0;
  const inputs = fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u)),
    mutatedBytes([pristine.bytes]),
    fc.array(fc.constantFrom(...pristine.lines.map((l) => l.bytes)), { maxLength: 8 }).map((ls) => Buffer.concat(ls.flatMap((l) => [l, Buffer.from('\n')]))),
  );
  return fc.asyncProperty(inputs, fc.boolean(), async (bytes, withDb) => {
    const dir = path.join(root, `reader-${n++}`);
    fs.mkdirSync(dir);
    try {
      if (withDb) {
        for (const suffix of ['', '-wal']) {
          const from = path.join(pristine.dir, O.SQLITE + suffix);
          if (fs.existsSync(from)) fs.copyFileSync(from, path.join(dir, O.SQLITE + suffix));
        }
      }
      fs.copyFileSync(path.join(pristine.dir, 'keyring.json'), path.join(dir, 'keyring.json'));
      fs.copyFileSync(path.join(pristine.dir, 'ledger.json'), path.join(dir, 'ledger.json'));
      const file = path.join(dir, O.JSONL);
      fs.writeFileSync(file, bytes);
      checkLines(lib, file, bytes);
      const before = snapshot(dir);
      await typedOrValueAsync(lib, 'parser-typed', 'verifyLedger', () => lib.verifyLedger({ dir }));
      await typedOrValueAsync(lib, 'parser-typed', 'verifyEventSetParity', () => lib.verifyEventSetParity({ dir }));
      const after = snapshot(dir);
      if (before !== after) throw new O.PropertyViolation('parser-typed', 'verifyLedger / verifyEventSetParity changed the folder');
      const { value: report } = await typedOrValueAsync(lib, 'parser-typed', 'replayJsonlIntoSqlite', () => lib.replayJsonlIntoSqlite({ dir }));
      if (!fs.readFileSync(file).equals(bytes)) throw new O.PropertyViolation('parser-typed', 'replay changed events.jsonl');
      if (report) {
        const { value: l } = await typedOrValueAsync(lib, 'parser-typed', 'Ledger.open', () => lib.Ledger.open({ dir }));
        if (l) await l.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** JsonlFile.lines: offsets contiguous, every byte in a line or the torn tail, nothing invented. */
function checkLines(lib, file, bytes) {
  const j = lib.JsonlFile.open(file, lib.NODE_FILE_IO, { readOnly: true });
  try {
    let at = 0;
    let torn;
    const { value: lines } = typedOrValue(lib, 'parser-typed', 'JsonlFile.lines', () => [...j.lines(0, (t) => (torn = t))]);
    for (const l of lines ?? []) {
      if (l.offset !== at || bytes[l.offset + l.length - 1] !== 0x0a || bytes.subarray(l.offset, l.offset + l.length - 1).includes(0x0a)) {
        throw new O.PropertyViolation('parser-typed', `JsonlFile.lines: line at ${l.offset} (length ${l.length}) does not tile the file`);
      }
      if (!l.badUtf8 && !Buffer.from(l.text).equals(bytes.subarray(l.offset, l.offset + l.length - 1))) {
        throw new O.PropertyViolation('parser-typed', `JsonlFile.lines: text at ${l.offset} is not the file's bytes, and not flagged badUtf8`);
      }
      at += l.length;
    }
    const rest = bytes.subarray(at);
    if (rest.length > 0 ? !torn || torn.offset !== at || !torn.bytes.equals(rest) : torn !== undefined) {
      throw new O.PropertyViolation('parser-typed', `JsonlFile.lines: the ${rest.length} bytes after the last newline are not the torn tail`);
    }
  } finally {
    j.close();
  }
}

function snapshot(dir) {
  return fs.readdirSync(dir).filter((n) => !/-(wal|shm)$/.test(n)).sort()
    .map((n) => `${n}:${fs.readFileSync(path.join(dir, n)).toString('base64')}`).join('|');
}

export const PARSER_PROPERTIES = {
  parseEventLine: parseEventLineProperty,
  canonicalize: canonicalizeProperty,
  keyring: keyringProperty,
  note: noteProperty,
  verifierKey: verifierKeyProperty,
};

/** Event inputs as `sealed-ledger append` reads them from stdin. */
function stdinInputs() {
  const valid = [
    '{"kind":"user.login","payload":{"user":"zoë"}}\n{"kind":"doc.edit","payload":[1,2],"actor":"a","id":"x-1"}\n',
    '{"kind":"k","payload":null,"id":"same"}\n\n{"kind":"k","payload":null,"id":"same"}\r\n',
    '{"kind":"k","payload":1,"at":"2026-01-02T03:04:05Z"}',
  ].map((t) => Buffer.from(t));
  return fc.oneof(mutatedBytes(valid), fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)), fc.string({ unit: 'binary', maxLength: 200 }).map((t) => Buffer.from(t)));
}

/** readInputLines (the CLI's stdin parser) on arbitrary bytes, in-process. */
export function stdinEventsProperty(lib) {
  return fc.asyncProperty(stdinInputs(), async (bytes) => {
    const { value } = await typedOrValueAsync(lib, 'parser-typed', 'readInputLines', () => lib.readInputLines(Readable.from([bytes])));
    for (const item of value ?? []) {
      typedOrValue(lib, 'parser-typed', 'appendable input', () => lib.canonicalize(item.input.payload));
    }
  });
}

const DIST_CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/**
 * `sealed-ledger append <dir>` with arbitrary stdin, as a process: it exits 0 (all appended) or
 * 65 (EX_DATAERR, nothing written), never 70 (an internal error) or with a stack trace.
 */
export function cliAppendProperty(lib, root) {
  let n = 0;
  return fc.asyncProperty(stdinInputs(), async (bytes) => {
    const dir = path.join(root, `cli-${n++}`);
    const ledger = await lib.Ledger.open({ dir, create: true });
    await ledger.close();
    const file = path.join(dir, O.JSONL);
    const before = fs.readFileSync(file);
    const cli = lib.dist ? path.join(lib.dist, 'cli', 'main.js') : DIST_CLI;
    const r = spawnSync(process.execPath, [cli, 'append', dir], { input: bytes, encoding: 'utf8', timeout: SLOW_MS * 5 });
    const after = fs.readFileSync(file);
    fs.rmSync(dir, { recursive: true, force: true });
    const what = `sealed-ledger append with stdin ${JSON.stringify(bytes.toString('latin1')).slice(0, 120)}`;
    if (r.error) throw new O.PropertyViolation('parser-typed', `${what}: ${r.error.message}`);
    if (r.status !== 0 && r.status !== 65) throw new O.PropertyViolation('parser-typed', `${what} exited ${r.status ?? r.signal}: ${r.stderr.slice(0, 400)}`);
    if (/\n\s+at /.test(r.stderr)) throw new O.PropertyViolation('parser-typed', `${what} printed a stack trace: ${r.stderr.slice(0, 400)}`);
    if (r.status === 65 && !after.equals(before)) throw new O.PropertyViolation('parser-typed', `${what} failed (65) but changed events.jsonl`);
    if (r.status === 0) {
      // One printed event per input line (spec §15.1.1): a repeated id prints its stored event
      // again, so the distinct printed lines, in order, are exactly the lines appended.
      const printed = [...new Set(r.stdout.split('\n').filter(Boolean))];
      const added = O.splitLines(after.subarray(before.length)).lines.map((l) => l.bytes.toString('utf8'));
      if (printed.join('\n') !== added.join('\n')) {
        throw new O.PropertyViolation('parser-typed', `${what} printed ${printed.length} distinct events but appended ${added.length} (or other ones)`);
      }
    }
  });
}
