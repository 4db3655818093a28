/**
 * Tamper and mutation probes: from a valid, signed ledger derive corruptions (byte flips,
 * truncations, reordered / duplicated / deleted lines, edited SQLite rows, swapped signatures,
 * wrong keys, re-sealed forgeries) and require verifyLedger and/or verifyEventSetParity to report
 * each with the right error code at the right seq (or line). The expected code of a byte flip is
 * computed here, independently of the library: JSON.parse, the `canonicalize` package as the
 * RFC 8785 oracle, and the field rules of spec §3.2.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import jcs from 'canonicalize';
import fc from 'fast-check';
import * as O from './oracle.mjs';

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const HASH = /^[0-9a-f]{64}$/;
const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const KIND = /^[A-Za-z][A-Za-z0-9_.:/-]{0,127}$/;
const KID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const AT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z$/;
const SIG_VALUE = /^[A-Za-z0-9+/]{86}==$/;
const FIELDS = ['actor', 'at', 'hash', 'id', 'kind', 'payload', 'prev', 'seq', 'sig', 'v'];

/** Spec §3.1: a real proleptic Gregorian date from year 0001 (not Date.UTC, which reads 0026 as 1926). */
function validAt(s) {
  const m = typeof s === 'string' && AT.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number);
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  return y >= 1 && days !== undefined && d >= 1 && d <= days && h <= 23 && mi <= 59 && se <= 59;
}

function validActor(s) {
  // eslint-disable-next-line no-control-regex
  return typeof s === 'string' && s.length >= 1 && s.length <= 256 && !/[\u0000-\u001f\u007f]/.test(s) && s.isWellFormed();
}

/**
 * The code verifyLedger must give a JSONL line that was `original` and is now `bytes` (one byte
 * changed, no newline added). `keyring` tells UNKNOWN_KEY from INVALID_SIGNATURE.
 */
export function expectedLineCode(original, bytes, keyring) {
  let text;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return 'MALFORMED_LINE';
  }
  let o;
  try {
    o = JSON.parse(text);
  } catch {
    return 'MALFORMED_LINE';
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'MALFORMED_LINE';
  if (jcs(o) !== text) return 'MALFORMED_LINE';
  const a = JSON.parse(original);
  const keys = Object.keys(o).sort().join();
  if (keys !== Object.keys(a).sort().join() || !Object.keys(o).every((k) => FIELDS.includes(k))) return 'MALFORMED_LINE';
  const changed = FIELDS.filter((k) => jcs(a[k] ?? null) !== jcs(o[k] ?? null));
  if (changed.length !== 1) return 'MALFORMED_LINE';
  const [k] = changed;
  const v = o[k];
  switch (k) {
    case 'payload':
      return 'SEAL_MISMATCH';
    case 'hash':
    case 'prev':
      return typeof v === 'string' && HASH.test(v) ? 'SEAL_MISMATCH' : 'MALFORMED_LINE';
    case 'seq':
      return Number.isSafeInteger(v) && v >= 0 ? 'SEAL_MISMATCH' : 'MALFORMED_LINE';
    case 'id':
      return typeof v === 'string' && ID.test(v) ? 'SEAL_MISMATCH' : 'MALFORMED_LINE';
    case 'kind':
      return typeof v === 'string' && KIND.test(v) ? 'SEAL_MISMATCH' : 'MALFORMED_LINE';
    case 'actor':
      return validActor(v) ? 'SEAL_MISMATCH' : 'MALFORMED_LINE';
    case 'at':
      return validAt(v) ? 'SEAL_MISMATCH' : 'MALFORMED_LINE';
    case 'sig': {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).sort().join() !== 'alg,kid,value') return 'MALFORMED_LINE';
      if (v.alg !== 'ed25519') return 'MALFORMED_LINE';
      if (typeof v.kid !== 'string' || !KID.test(v.kid)) return 'MALFORMED_LINE';
      if (typeof v.value !== 'string' || !SIG_VALUE.test(v.value) || Buffer.from(v.value, 'base64').toString('base64') !== v.value) return 'MALFORMED_LINE';
      return keyring.has(v.kid) ? 'INVALID_SIGNATURE' : 'UNKNOWN_KEY';
    }
    default: // v
      return 'MALFORMED_LINE';
  }
}

/**
 * A valid ledger of `n` events signed by key A (one event unsigned-free: all signed), plus key
 * B in the keyring and key C outside it. Returns everything the probes need.
 */
export async function buildPristine(lib, root, n = 6) {
  const dir = path.join(root, 'pristine');
  const keyA = lib.signingKeyFromSeed(Buffer.alloc(32, 1), 'tamper-a');
  const keyB = lib.signingKeyFromSeed(Buffer.alloc(32, 2), 'tamper-b');
  const keyC = lib.signingKeyFromSeed(Buffer.alloc(32, 3), 'tamper-c');
  const entry = (k) => ({ kid: k.kid, name: k.name, publicKey: k.publicKey });
  const keyring = new lib.Keyring([entry(keyA), entry(keyB)]);
  const ledger = await lib.Ledger.open({ dir, create: true, signer: keyA, keyring, now: () => new Date('2026-03-04T05:06:07.890Z') });
  const payloads = [{ user: 'zoë', n: 1 }, 'plain', [1, 2.5, -3], null, { nested: { ok: true, s: '✓ "q"' } }, 12345, { e: '' }, true];
  for (let i = 0; i < n; i++) {
    await ledger.append({ kind: i % 2 ? 'doc.edit' : 'user.login', id: `ev-${i}`, ...(i % 3 === 0 ? {} : { actor: `actor-${i}` }), payload: payloads[i % payloads.length] });
  }
  await ledger.close();
  keyring.save(path.join(dir, 'keyring.json'));
  const bytes = fs.readFileSync(path.join(dir, O.JSONL));
  const { lines } = O.splitLines(bytes);
  return { dir, root, keyA, keyB, keyC, keyring, bytes, lines, n };
}

let probeCounter = 0;

/** A fresh copy of the pristine folder. */
function copy(p) {
  const dir = path.join(p.root, `probe-${probeCounter++}`);
  fs.cpSync(p.dir, dir, { recursive: true });
  // The wal-index is rebuilt from the WAL; a copied one could describe another file.
  fs.rmSync(path.join(dir, `${O.SQLITE}-shm`), { force: true });
  return dir;
}

function withLines(p, dir, lines) {
  fs.writeFileSync(path.join(dir, O.JSONL), Buffer.concat(lines.map((l) => Buffer.concat([Buffer.from(l), Buffer.from('\n')]))));
}

async function inspect(lib, p, dir, options = {}) {
  const verify = await lib.verifyLedger({ dir }, { keyring: p.keyring, ...options });
  const parity = await lib.verifyEventSetParity({ dir });
  return { verify, parity };
}

function fail(name, message, r) {
  const brief = r ? ` verify: ${JSON.stringify(r.verify.problems.slice(0, 4))} torn: ${JSON.stringify(r.verify.tornTail)} parity: ${JSON.stringify({
    missingFromSqlite: r.parity.missingFromSqlite, missingFromJsonl: r.parity.missingFromJsonl, mismatches: r.parity.mismatches.slice(0, 3), jsonlDefects: r.parity.jsonlDefects.slice(0, 3) })}` : '';
  return new O.PropertyViolation('tamper-detected', `${name}: ${message}${brief}`);
}

const seqsOf = (ranges) => ranges.flatMap((r) => Array.from({ length: r.to - r.from + 1 }, (_, i) => r.from + i));

/**
 * Flip one byte of line `li` at `pos` to `value` and check the report. Returns the expected
 * code (for counting), throws PropertyViolation when the report is wrong.
 */
export async function probeByteFlip(lib, p, li, pos, value) {
  const line = p.lines[li];
  const flipped = Buffer.from(line.bytes);
  if (flipped[pos] === value) return undefined;
  flipped[pos] = value;
  const name = `flip line ${li} byte ${pos} 0x${line.bytes[pos].toString(16)}->0x${value.toString(16)}`;
  const dir = copy(p);
  const all = Buffer.from(p.bytes);
  flipped.copy(all, line.offset);
  fs.writeFileSync(path.join(dir, O.JSONL), all);
  const r = await inspect(lib, p, dir);
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.verify.ok) throw fail(name, 'verifyLedger says ok', r);
  if (r.parity.inParity) throw fail(name, 'parity says in parity', r);
  const split = value === 0x0a;
  const expected = split ? 'MALFORMED_LINE' : expectedLineCode(line.bytes.toString('utf8'), flipped, p.keyring);
  const last = li === p.lines.length - 1 && pos === line.bytes.length - 1 && split;
  if (last) {
    // The last line lost its closing brace to a newline: nothing follows, the empty tail is fine.
    const first = r.verify.problems[0];
    if (!first || first.offset !== line.offset || first.code !== 'MALFORMED_LINE') throw fail(name, 'expected MALFORMED_LINE at the line', r);
    return expected;
  }
  const first = r.verify.problems[0];
  if (!first) throw fail(name, `expected ${expected}, verify reported no problem`, r);
  if (first.offset !== line.offset || first.lineNo !== li + 1) throw fail(name, `first problem is not at line ${li + 1} (offset ${line.offset})`, r);
  if (first.code !== expected) throw fail(name, `expected ${expected}, got ${first.code}`, r);
  if (first.seq !== undefined) {
    const claimed = O.looseEvent(flipped)?.seq;
    if (first.seq !== li && first.seq !== claimed) throw fail(name, `problem names seq ${first.seq}, the line is seq ${li}`, r);
  }
  if (r.verify.problems.some((q) => q.offset !== undefined && q.offset < line.offset)) throw fail(name, 'a problem is reported before the flipped line', r);
  const pointsAt = r.parity.mismatches.some((m) => m.seq === li) || seqsOf(r.parity.missingFromJsonl).includes(li) ||
    r.parity.jsonlDefects.some((d) => d.offset === line.offset);
  if (!pointsAt) throw fail(name, `parity does not point at seq ${li}`, r);
  return expected;
}

/** Every byte of the given lines with each XOR mask; returns code counts. */
export async function exhaustiveFlips(lib, p, lineIndexes, masks = [0x01, 0x20]) {
  const counts = {};
  for (const li of lineIndexes) {
    for (let pos = 0; pos < p.lines[li].bytes.length; pos++) {
      for (const m of masks) {
        const code = await probeByteFlip(lib, p, li, pos, p.lines[li].bytes[pos] ^ m);
        if (code) counts[code] = (counts[code] ?? 0) + 1;
      }
    }
  }
  return counts;
}

export function flipArb(p) {
  return fc.nat(p.lines.length - 1).chain((li) =>
    fc.tuple(fc.constant(li), fc.nat(p.lines[li].bytes.length - 1), fc.integer({ min: 0, max: 255 })));
}

/** Open and close the damaged copy `dir`, then remove it; the error open raised, if any. */
async function openErrorThenRemove(lib, p, dir) {
  try {
    const l = await lib.Ledger.open({ dir, keyring: p.keyring });
    await l.close();
    return undefined;
  } catch (e) {
    return e;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Truncate events.jsonl at `t`: a short JSONL is SQLite ahead, and a cut line is a torn tail. */
export async function probeTruncation(lib, p, t) {
  const name = `truncate at ${t}`;
  const dir = copy(p);
  fs.writeFileSync(path.join(dir, O.JSONL), p.bytes.subarray(0, t));
  const r = await inspect(lib, p, dir);
  const open = await openErrorThenRemove(lib, p, dir);
  const k = p.lines.filter((l) => l.end <= t).length;
  const torn = t > (k === 0 ? 0 : p.lines[k - 1].end);
  if (r.verify.ok || r.parity.inParity) throw fail(name, 'not detected', r);
  if (torn !== (r.verify.tornTail !== null) || (torn && r.verify.tornTail.offset !== (k === 0 ? 0 : p.lines[k - 1].end))) throw fail(name, `torn tail expected: ${torn}`, r);
  const missing = seqsOf(r.parity.missingFromJsonl);
  if (missing[0] !== k || missing.at(-1) !== p.n - 1) throw fail(name, `parity should miss seq ${k}..${p.n - 1} from JSONL`, r);
  if (r.verify.problems.length !== 0) throw fail(name, 'the kept lines are valid; verify should report no problem', r);
  if (open?.code !== 'SQLITE_AHEAD') throw fail(name, `open should fail with SQLITE_AHEAD, got ${open ? O.describeError(open) : 'success'}`, r);
}

/** Rearranged lines: `lines` is the new order of original line indexes. */
export async function probeLines(lib, p, name, order, expect) {
  const dir = copy(p);
  withLines(p, dir, order.map((i) => p.lines[i].bytes));
  const r = await inspect(lib, p, dir);
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.verify.ok || r.parity.inParity) throw fail(name, 'not detected', r);
  const first = r.verify.problems[0];
  if (expect.code === null) {
    if (first) throw fail(name, `expected no JSONL problem, got ${first.code}`, r);
  } else if (!first || first.code !== expect.code || first.lineNo !== expect.lineNo || (expect.seq !== undefined && first.seq !== expect.seq)) {
    throw fail(name, `expected ${expect.code} at line ${expect.lineNo}${expect.seq !== undefined ? ` naming seq ${expect.seq}` : ''}`, r);
  }
  if (expect.missingFromJsonl !== undefined && !seqsOf(r.parity.missingFromJsonl).includes(expect.missingFromJsonl)) throw fail(name, `parity should miss seq ${expect.missingFromJsonl} from JSONL`, r);
}

/** All reorder, duplicate and delete probes of a pristine ledger; returns how many ran. */
export async function lineProbes(lib, p) {
  let count = 0;
  const ids = [...Array(p.n).keys()];
  for (let i = 0; i < p.n; i++) {
    for (let j = i + 1; j < p.n; j++) {
      const order = [...ids];
      [order[i], order[j]] = [order[j], order[i]];
      await probeLines(lib, p, `swap lines ${i} and ${j}`, order, { code: 'SEQ_GAP', lineNo: i + 1, seq: j, missingFromJsonl: i });
      count++;
    }
    const dup = [...ids.slice(0, i + 1), i, ...ids.slice(i + 1)];
    await probeLines(lib, p, `duplicate line ${i}`, dup, { code: 'SEQ_GAP', lineNo: i + 2, seq: i });
    const del = ids.filter((x) => x !== i);
    await probeLines(lib, p, `delete line ${i}`, del, i === p.n - 1 ? { code: null, missingFromJsonl: i } : { code: 'SEQ_GAP', lineNo: i + 1, seq: i + 1, missingFromJsonl: i });
    count += 2;
  }
  return count;
}

function editSqlite(dir, sql, ...args) {
  const db = new Database(path.join(dir, O.SQLITE));
  try {
    db.prepare(sql).run(...args);
  } finally {
    db.close();
  }
}

export const EVENT_COLUMNS = ['line', 'id', 'kind', 'actor', 'at', 'hash', 'kid', 'offset'];

/**
 * Hand edits of ledger.db: the given columns of a row, a deleted row, an extra row, the
 * watermark. Parity must name the seq; open must refuse (or heal a deleted row).
 */
export async function sqliteProbes(lib, p, seq, columns = EVENT_COLUMNS) {
  const row = (() => {
    const db = new Database(path.join(p.dir, O.SQLITE), { readonly: true });
    try {
      return db.prepare('SELECT * FROM events WHERE seq = ?').get(seq);
    } finally {
      db.close();
    }
  })();
  const other = JSON.parse(p.lines[(seq + 1) % p.n].bytes.toString());
  const edits = {
    line: row.line.replace('"payload":', '"payload":[').replace(',"prev"', '],"prev"'),
    id: 'edited-id',
    kind: 'edited.kind',
    actor: 'mallory',
    at: '2000-01-01T00:00:00Z',
    hash: other.hash,
    kid: p.keyB.kid,
    offset: row.offset + 1,
  };
  let count = 0;
  for (const col of columns) {
    const value = edits[col];
    const name = `edit ledger.db events.${col} of seq ${seq}`;
    const dir = copy(p);
    try {
      editSqlite(dir, `UPDATE events SET "${col}" = ? WHERE seq = ?`, value, seq);
    } catch (e) {
      // A unique column may refuse the duplicate value: that edit cannot happen.
      fs.rmSync(dir, { recursive: true, force: true });
      if (/UNIQUE/.test(e.message)) continue;
      throw e;
    }
    const r = await inspect(lib, p, dir);
    const open = await openErrorThenRemove(lib, p, dir);
    count++;
    if (r.verify.ok || r.parity.inParity) throw fail(name, 'not detected by verifyLedger / verifyEventSetParity', r);
    if (!r.parity.mismatches.some((m) => m.seq === seq)) throw fail(name, `parity does not name seq ${seq}`, r);
    if (open?.code !== 'MIRROR_CONFLICT' || !(open.details.seqs ?? []).includes(seq)) {
      throw fail(name, `open should refuse with MIRROR_CONFLICT naming seq ${seq}, got ${open ? O.describeError(open) : 'success'}`, r);
    }
  }
  {
    const name = `delete ledger.db row seq ${seq}`;
    const dir = copy(p);
    editSqlite(dir, 'DELETE FROM events WHERE seq = ?', seq);
    const r = await inspect(lib, p, dir);
    if (r.verify.ok || !seqsOf(r.parity.missingFromSqlite).includes(seq)) throw fail(name, `parity should miss seq ${seq} from SQLite`, r);
    const l = await lib.Ledger.open({ dir, keyring: p.keyring });
    const restored = l.lastReconcile.restored;
    await l.close();
    const after = await inspect(lib, p, dir);
    fs.rmSync(dir, { recursive: true, force: true });
    if (!restored.includes(seq) || !after.verify.ok) throw fail(name, `open should restore seq ${seq} (restored ${JSON.stringify(restored)})`, after);
    count++;
  }
  {
    const name = 'extra ledger.db row';
    const dir = copy(p);
    const last = JSON.parse(p.lines[p.n - 1].bytes.toString());
    editSqlite(dir, 'INSERT INTO events (seq, id, at, kind, actor, hash, kid, line, offset) VALUES (?, ?, ?, ?, NULL, ?, NULL, ?, ?)',
      p.n, 'ghost', last.at, 'ghost', 'f'.repeat(64), '{"ghost":true}', p.bytes.length);
    const r = await inspect(lib, p, dir);
    const open = await openErrorThenRemove(lib, p, dir);
    if (r.verify.ok || !seqsOf(r.parity.missingFromJsonl).includes(p.n)) throw fail(name, `parity should miss seq ${p.n} from JSONL`, r);
    if (open?.code !== 'SQLITE_AHEAD') throw fail(name, `open should fail with SQLITE_AHEAD, got ${open ? O.describeError(open) : 'success'}`, r);
    count++;
  }
  {
    const name = 'edited watermark';
    const dir = copy(p);
    editSqlite(dir, 'UPDATE watermark SET seq = seq - 1 WHERE id = 1');
    const open = await openErrorThenRemove(lib, p, dir);
    if (open?.code !== 'LEDGER_CORRUPT') throw fail(name, `open should fail with LEDGER_CORRUPT, got ${open ? O.describeError(open) : 'success'}`);
    count++;
  }
  return count;
}

function lineOf(lib, event) {
  return Buffer.from(lib.encodeEventLine(event, lib.canonicalize(event.payload)));
}

/** Signature probes: swapped signatures, foreign keys, a kid naming the wrong key, retired keys, forgeries. */
export async function signatureProbes(lib, p) {
  const events = p.lines.map((l) => JSON.parse(l.bytes.toString()));
  const rewrite = async (name, mutate, expect, options = {}) => {
    const dir = copy(p);
    const lines = events.map((e) => structuredClone(e));
    mutate(lines);
    withLines(p, dir, lines.map((e) => lineOf(lib, e)));
    if (options.keyring) options.keyring.save(path.join(dir, 'keyring.json'));
    const r = await inspect(lib, p, dir, options.keyring ? { keyring: options.keyring, ...options.verify } : options.verify ?? {});
    fs.rmSync(dir, { recursive: true, force: true });
    if (r.verify.ok) throw fail(name, 'verifyLedger says ok', r);
    const got = r.verify.problems.map((q) => `${q.code}@${q.seq}`);
    const want = expect.map(([code, seq]) => `${code}@${seq}`);
    if (JSON.stringify(got) !== JSON.stringify(want)) throw fail(name, `expected problems ${want.join(', ')}, got ${got.join(', ')}`, r);
    return 1;
  };
  let count = 0;
  const n = p.n;
  for (let i = 0; i + 1 < n; i++) {
    count += await rewrite(`swap signatures of seq ${i} and ${i + 1}`, (ls) => {
      [ls[i].sig, ls[i + 1].sig] = [ls[i + 1].sig, ls[i].sig];
    }, [['INVALID_SIGNATURE', i], ['INVALID_SIGNATURE', i + 1]]);
  }
  for (let i = 0; i < n; i++) {
    count += await rewrite(`seq ${i} signed by a key outside the keyring`, (ls) => {
      ls[i] = lib.signEvent(ls[i], p.keyC);
    }, [['UNKNOWN_KEY', i]]);
    count += await rewrite(`seq ${i} signed by key B but naming key A`, (ls) => {
      const s = lib.signEvent(ls[i], p.keyB).sig;
      ls[i].sig = { ...s, kid: p.keyA.kid };
    }, [['INVALID_SIGNATURE', i]]);
  }
  count += await rewrite('whole ledger signed by a key outside the keyring', (ls) => {
    for (let i = 0; i < ls.length; i++) ls[i] = lib.signEvent(ls[i], p.keyC);
  }, events.map((_, i) => ['UNKNOWN_KEY', i]));
  {
    const retired = lib.Keyring.fromJSON(JSON.stringify(p.keyring));
    const at = Math.floor(n / 2);
    retired.retire(p.keyA.kid, { seq: at, at: '2100-01-01T00:00:00Z' });
    count += await rewrite(`key A retired at seq ${at}`, () => undefined, events.slice(at).map((e) => ['KEY_NOT_VALID', e.seq]), { keyring: retired });
  }
  {
    // Re-sealed forgery: new payload, honest hash, the old (now wrong) signature; the next line's prev breaks.
    const s = Math.floor(n / 2);
    count += await rewrite(`re-sealed payload at seq ${s}`, (ls) => {
      const sealed = lib.sealEvent({ kind: ls[s].kind, id: ls[s].id, at: ls[s].at, ...(ls[s].actor ? { actor: ls[s].actor } : {}), payload: 'forged' }, { seq: s, prev: ls[s].prev });
      ls[s] = { ...sealed, sig: ls[s].sig };
    }, [['INVALID_SIGNATURE', s], ['CHAIN_BROKEN', s + 1]]);
    count += await rewrite(`unsigned re-sealed payload at seq ${s} (signatures required)`, (ls) => {
      ls[s] = lib.sealEvent({ kind: ls[s].kind, id: ls[s].id, at: ls[s].at, payload: 'forged' }, { seq: s, prev: ls[s].prev });
    }, [['SIGNATURE_REQUIRED', s], ['CHAIN_BROKEN', s + 1]], { verify: { requireSignatures: true } });
    count += await rewrite(`unsigned re-chained forgery from seq ${s} (signatures required)`, (ls) => {
      for (let i = s; i < ls.length; i++) {
        ls[i] = lib.sealEvent({ kind: ls[i].kind, id: ls[i].id, at: ls[i].at, payload: i === s ? 'forged' : ls[i].payload }, { seq: i, prev: i === 0 ? O.GENESIS_PREV : ls[i - 1].hash });
      }
    }, events.slice(s).map((e) => ['SIGNATURE_REQUIRED', e.seq]), { verify: { requireSignatures: true } });
  }
  return count;
}

export function tamperRoot() {
  return fs.mkdtempSync(path.join(process.env.SEALED_LEDGER_FUZZ_TMP ?? (fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir()), 'sealed-ledger-tamper-'));
}

/** Copy of the pristine ledger as if it had been created with signatures required (spec §7.1). */
function copyWithPolicy(p) {
  const dir = copy(p);
  const metaPath = path.join(dir, 'ledger.json');
  const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
  fs.writeFileSync(metaPath, jcs({ ...meta, signaturesRequiredFrom: 0 }) + '\n');
  return dir;
}

function dropDb(dir) {
  for (const s of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, O.SQLITE + s), { force: true });
}

async function openError(lib, options) {
  try {
    const l = await lib.Ledger.open(options);
    await l.close();
    return undefined;
  } catch (e) {
    return e;
  }
}

/**
 * Signature strip (spec §7.1): the seal does not cover `sig`, so a stripped signature, or a
 * hand-sealed, correctly chained unsigned event appended to events.jsonl, keeps every seal valid.
 * Under a recorded signing policy verify must name the seq, and open (with or without ledger.db)
 * and replay must refuse it, naming the seq, and mirror nothing.
 */
export async function signatureStripProbes(lib, p) {
  let count = 0;
  const events = p.lines.map((l) => JSON.parse(l.bytes.toString()));
  const check = async (name, dir, seq) => {
    const r = await inspect(lib, p, dir);
    const got = r.verify.problems.map((q) => `${q.code}@${q.seq}`);
    if (!got.includes(`SIGNATURE_REQUIRED@${seq}`)) throw fail(name, `verify should report SIGNATURE_REQUIRED@${seq}, got ${got.join(', ') || 'nothing'}`, r);
    if (r.verify.signaturesRequiredFrom !== 0) throw fail(name, 'verify did not read the policy from ledger.json', r);
    dropDb(dir);
    const open = await openError(lib, { dir, keyring: p.keyring });
    if (open?.code !== 'SIGNATURE_REQUIRED' || open.details?.seq !== seq) {
      throw fail(name, `open without ledger.db should refuse with SIGNATURE_REQUIRED naming seq ${seq}, got ${open ? O.describeError(open) : 'success'}`);
    }
    let replayed;
    try {
      replayed = await lib.replayJsonlIntoSqlite({ dir }, { keyring: p.keyring });
    } catch (e) {
      replayed = e;
    }
    if (replayed?.code !== 'SIGNATURE_REQUIRED' || replayed.details?.seq !== seq) {
      throw fail(name, `replay should refuse with SIGNATURE_REQUIRED naming seq ${seq}, got ${replayed instanceof Error ? O.describeError(replayed) : 'success'}`);
    }
    const rows = O.readSqlite(path.join(dir, O.SQLITE)).rows;
    if (rows.some((row) => row.seq >= seq)) throw fail(name, `seq ${seq} or later was mirrored into ledger.db`);
    fs.rmSync(dir, { recursive: true, force: true });
    count++;
  };
  for (let i = 0; i < p.n; i++) {
    const dir = copyWithPolicy(p);
    const lines = events.map((e) => structuredClone(e));
    delete lines[i].sig;
    withLines(p, dir, lines.map((e) => lineOf(lib, e)));
    await check(`strip the signature of seq ${i}`, dir, i);
  }
  {
    const dir = copyWithPolicy(p);
    const last = events.at(-1);
    const forged = lib.sealEvent({ kind: 'doc.edit', id: 'forged', at: last.at, payload: 'forged' }, { seq: p.n, prev: last.hash });
    fs.appendFileSync(path.join(dir, O.JSONL), Buffer.concat([lineOf(lib, forged), Buffer.from('\n')]));
    // With ledger.db intact the line is past the watermark: open must refuse it too.
    const open = await openError(lib, { dir, keyring: p.keyring });
    if (open?.code !== 'SIGNATURE_REQUIRED' || open.details?.seq !== p.n) {
      throw fail('hand-sealed unsigned event appended', `open should refuse with SIGNATURE_REQUIRED naming seq ${p.n}, got ${open ? O.describeError(open) : 'success'}`);
    }
    await check('hand-sealed unsigned event appended', dir, p.n);
  }
  return count;
}

// ---- Trust-model probes (spec §12.6, §17): SQLite-side and folder-side edits an attacker who
// can write the folder makes without a signing key. Each is self-contained.

function checkpointsLines(dir) {
  const file = path.join(dir, 'checkpoints.jsonl');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
}

/**
 * Every merkle_nodes row of the pristine ledger replaced by another hash: verify names the node
 * (MERKLE_NODE_MISMATCH), and a checkpoint signed afterwards is refused when the node is on the
 * frontier (its root would be forged) and never signs a root other than that of the JSONL leaves.
 */
export async function merkleNodeProbes(lib, p) {
  const nodes = (() => {
    const db = new Database(path.join(p.dir, O.SQLITE), { readonly: true });
    try {
      return db.prepare('SELECT level, idx FROM merkle_nodes ORDER BY level, idx').all();
    } finally {
      db.close();
    }
  })();
  const leaves = p.lines.map((l) => Buffer.from(JSON.parse(l.bytes.toString()).hash, 'hex'));
  const honestRoot = lib.rootFromLeaves(leaves);
  const vkey = lib.verifierKeyString(p.keyA.name, p.keyA.publicKey);
  let count = 0;
  for (const { level, idx } of nodes) {
    const name = `poisoned merkle_nodes (${level}, ${idx})`;
    const dir = copy(p);
    try {
      editSqlite(dir, 'UPDATE merkle_nodes SET hash = ? WHERE level = ? AND idx = ?', Buffer.alloc(32, 0xee), level, idx);
      const v = await lib.verifyLedger({ dir }, { keyring: p.keyring, ...lib.verifyDefaults });
      if (!v.problems.some((q) => q.code === 'MERKLE_NODE_MISMATCH' && q.message.includes(`(${level}, ${idx})`))) {
        throw new O.PropertyViolation('tamper-detected', `${name}: verify does not name the node: ${JSON.stringify(v.problems.slice(0, 3))}`);
      }
      const before = checkpointsLines(dir);
      let note;
      try {
        const l = await lib.Ledger.open({ dir, keyring: p.keyring, signer: p.keyA });
        try {
          note = await l.checkpoint(p.keyA);
        } finally {
          await l.close();
        }
      } catch (e) {
        if (e.code !== 'LEDGER_CORRUPT') throw new O.PropertyViolation('tamper-detected', `${name}: checkpoint failed with ${O.describeError(e)}, expected LEDGER_CORRUPT`);
        if (checkpointsLines(dir) !== before) throw new O.PropertyViolation('tamper-detected', `${name}: a refused checkpoint changed checkpoints.jsonl`);
      }
      if (note !== undefined && !lib.verifyCheckpoint(note, [vkey]).rootHash.equals(honestRoot)) {
        throw new O.PropertyViolation('tamper-detected', `${name}: the honest key signed a root that is not the root of events.jsonl's leaves`);
      }
      count++;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return count;
}

/** The last k lines cut from events.jsonl and their rows deleted: the watermark and the tamper log say so. */
export async function watermarkProbes(lib, p) {
  let count = 0;
  for (let k = 1; k < p.n; k++) {
    const name = `last ${k} lines and rows removed`;
    const dir = copy(p);
    try {
      withLines(p, dir, p.lines.slice(0, p.n - k).map((l) => l.bytes));
      editSqlite(dir, 'DELETE FROM events WHERE seq >= ?', p.n - k);
      const v = await lib.verifyLedger({ dir }, { keyring: p.keyring, ...lib.verifyDefaults });
      const codes = v.problems.map((q) => q.code);
      if (v.ok || !codes.includes('WATERMARK_PAST_END') || codes.filter((c) => c === 'PROJECTION_TAMPER').length !== k) {
        throw new O.PropertyViolation('tamper-detected', `${name}: expected WATERMARK_PAST_END and ${k} PROJECTION_TAMPER, got ${JSON.stringify(codes)}`);
      }
      count++;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return count;
}

/** A checkpoint's size or root edited in the checkpoints table: reported as a record edit, not as JSONL damage. */
export async function checkpointTableProbes(lib, p) {
  let count = 0;
  for (const [column, value] of [['root', 'ab'.repeat(32)], ['size', p.n - 1]]) {
    const name = `checkpoints.${column} edited`;
    const dir = copy(p);
    try {
      const l = await lib.Ledger.open({ dir, keyring: p.keyring, signer: p.keyA });
      await l.checkpoint(p.keyA);
      await l.close();
      editSqlite(dir, `UPDATE checkpoints SET "${column}" = ?`, value);
      const v = await lib.verifyLedger({ dir }, { keyring: p.keyring, ...lib.verifyDefaults });
      const codes = v.problems.map((q) => q.code);
      if (v.ok || !codes.includes('CHECKPOINT_RECORD_MISMATCH') || codes.some((c) => c !== 'CHECKPOINT_RECORD_MISMATCH')) {
        throw new O.PropertyViolation('tamper-detected', `${name}: expected only CHECKPOINT_RECORD_MISMATCH, got ${JSON.stringify(v.problems.slice(0, 3))}`);
      }
      count++;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return count;
}

/**
 * Symlinks (spec §7.1): any ledger file replaced by a symlink to a victim file makes open and
 * replay refuse with LEDGER_CORRUPT naming it; the victim is never read into the ledger, moved,
 * truncated or written.
 */
export async function symlinkProbes(lib, p) {
  let count = 0;
  for (const name of [O.JSONL, O.SQLITE, 'ledger.json', 'keyring.json', 'checkpoints.jsonl', 'quarantine.jsonl', O.TORN]) {
    for (const withDb of [true, false]) {
      if (name === O.SQLITE && !withDb) continue;
      const probe = `${name} is a symlink${withDb ? '' : ', ledger.db lost'}`;
      const dir = copy(p);
      if (!withDb) dropDb(dir);
      const entry = path.join(dir, name);
      const victim = path.join(p.root, `victim-${probeCounter++}`);
      if (name === O.TORN) {
        fs.mkdirSync(victim);
        fs.writeFileSync(path.join(victim, 'victim.conf'), 'keep me');
      } else {
        const bytes = fs.existsSync(entry) ? fs.readFileSync(entry) : Buffer.from('victim=1\nno newline');
        fs.writeFileSync(victim, bytes);
      }
      fs.rmSync(entry, { recursive: true, force: true });
      if (name === O.SQLITE) for (const s of ['-wal', '-shm']) fs.rmSync(entry + s, { force: true });
      fs.symlinkSync(victim, entry);
      const before = name === O.TORN ? fs.readFileSync(path.join(victim, 'victim.conf')) : fs.readFileSync(victim);
      const open = await openError(lib, { dir, keyring: p.keyring });
      if (open?.code !== 'LEDGER_CORRUPT' || open.details?.path !== entry) {
        throw fail(probe, `open should refuse with LEDGER_CORRUPT naming ${entry}, got ${open ? O.describeError(open) : 'success'}`);
      }
      let replayed;
      try {
        replayed = await lib.replayJsonlIntoSqlite({ dir });
      } catch (e) {
        replayed = e;
      }
      if (replayed?.code !== 'LEDGER_CORRUPT') throw fail(probe, `replay should refuse with LEDGER_CORRUPT, got ${replayed instanceof Error ? O.describeError(replayed) : 'success'}`);
      const after = name === O.TORN ? fs.readFileSync(path.join(victim, 'victim.conf')) : fs.readFileSync(victim);
      if (!after.equals(before) || (name === O.TORN && fs.readdirSync(victim).length !== 1)) throw fail(probe, 'the symlink target was changed');
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(victim, { recursive: true, force: true });
      count++;
    }
  }
  return count;
}

/**
 * keyring.json swapped for one holding only key C, history re-signed by C: the folder vouches for
 * itself (verify with its own keyring is ok), keys obtained out of band fail every event.
 */
export async function keyringSwapProbes(lib, p) {
  const dir = copy(p);
  try {
    const entry = (k) => ({ kid: k.kid, name: k.name, publicKey: k.publicKey });
    new lib.Keyring([entry(p.keyC)]).save(path.join(dir, 'keyring.json'));
    const events = p.lines.map((l) => JSON.parse(l.bytes.toString()));
    const resigned = [];
    for (const [i, e] of events.entries()) {
      const sealed = lib.sealEvent({ kind: e.kind, id: e.id, at: e.at, ...(e.actor === undefined ? {} : { actor: e.actor }), payload: e.payload }, { seq: i, prev: i === 0 ? O.GENESIS_PREV : resigned[i - 1].hash });
      resigned.push(lib.signEvent(sealed, p.keyC));
    }
    withLines(p, dir, resigned.map((e) => lineOf(lib, e)));
    for (const f of ['ledger.db', 'ledger.db-wal', 'ledger.db-shm']) fs.rmSync(path.join(dir, f), { force: true });
    await lib.replayJsonlIntoSqlite({ dir });
    const folder = await lib.verifyLedger({ dir }, lib.verifyDefaults);
    if (!folder.ok || folder.trust.keys !== 'folder' || !/not against whoever can write the folder/.test(folder.trust.statement)) {
      throw new O.PropertyViolation('tamper-detected', `keyring swap: the folder-keyring verify should pass and say what it proves: ${JSON.stringify(folder.trust)} ${JSON.stringify(folder.problems.slice(0, 2))}`);
    }
    const trusted = await lib.verifyLedger({ dir }, { trustedKeys: lib.trustedKeysFromKeyring(p.keyring), ...lib.verifyDefaults });
    const unknown = trusted.problems.filter((q) => q.code === 'UNKNOWN_KEY').map((q) => q.seq);
    if (trusted.ok || unknown.length !== p.n || unknown.some((s, i) => s !== i)) {
      throw new O.PropertyViolation('tamper-detected', `keyring swap: trusted keys should fail every seq with UNKNOWN_KEY, got ${JSON.stringify(trusted.problems.slice(0, 3))}`);
    }
    return 2;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** All trust-model probes; returns how many ran. */
export async function trustProbes(lib, p) {
  return (await merkleNodeProbes(lib, p)) + (await watermarkProbes(lib, p)) + (await checkpointTableProbes(lib, p)) + (await keyringSwapProbes(lib, p));
}
