/**
 * Independent readers of a ledger folder and the properties every crash suite checks. Nothing
 * here uses the library's own readers: events.jsonl is read with plain fs and split on "\n",
 * ledger.db through a separate better-sqlite3 connection. A violated property throws
 * PropertyViolation naming the property, so a mutant test can tell which one caught it.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export const GENESIS_PREV = '0'.repeat(64);
export const JSONL = 'events.jsonl';
export const SQLITE = 'ledger.db';
export const TORN = 'torn';
export const QUARANTINE = 'quarantine.jsonl';

/** Property names, as printed in violations and accepted by `only` filters. */
export const PROPERTIES = [
  'sqlite-within-jsonl', // count(JSONL) >= count(SQLite); every row equals the JSONL line of its seq
  'sqlite-within-durable-jsonl', // the same against the bytes that survive a power cut, at every crash point
  'acked-present', // every acknowledged event is in JSONL (and after reopen in SQLite)
  'reopen-succeeds', // a crashed ledger opens again
  'stores-equal', // after reopen: the same events on both sides, no torn fragment
  'verify-ok', // after reopen: verifyLedger is ok
  'reconcile-idempotent', // a second open replays nothing and moves nothing
  'torn-moved-aside', // a torn tail ends up in torn/, never half-kept in (or silently lost from) events.jsonl
  'quarantine-kept', // every quarantine a caller was told about is a readable line of quarantine.jsonl
  'no-unexpected-error', // appends fail only with the errors the workload provokes
  'lock-exclusive', // a writer taking the lock finds no other writer's lines uncommitted in its projection worker
];

export class PropertyViolation extends Error {
  constructor(property, message, details = {}) {
    super(`[${property}] ${message}`);
    this.name = 'PropertyViolation';
    this.property = property;
    this.details = details;
  }
}

/** A checker that evaluates only the properties in `only` (all when undefined). */
export function makeChecker(only) {
  const on = (name) => only === undefined || only.includes(name);
  return {
    on,
    /** Throw a violation of `name` unless `ok`. `message` may be a thunk (built only on failure). */
    that(name, ok, message, details) {
      if (on(name) && !ok) throw new PropertyViolation(name, typeof message === 'function' ? message() : message, details);
    },
  };
}

export function ledgerFiles(dir) {
  return {
    dir,
    jsonl: path.join(dir, JSONL),
    sqlite: path.join(dir, SQLITE),
    torn: path.join(dir, TORN),
    quarantine: path.join(dir, QUARANTINE),
  };
}

export function readBytes(file) {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if (e.code === 'ENOENT') return Buffer.alloc(0);
    throw e;
  }
}

/** Complete lines (bytes before each "\n") and the fragment after the last "\n". */
export function splitLines(bytes) {
  const lines = [];
  let start = 0;
  for (let nl = bytes.indexOf(0x0a, start); nl !== -1; nl = bytes.indexOf(0x0a, start)) {
    lines.push({ offset: start, bytes: bytes.subarray(start, nl), end: nl + 1 });
    start = nl + 1;
  }
  const fragment = start < bytes.length ? { offset: start, bytes: bytes.subarray(start) } : null;
  return { lines, fragment };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The fields the suites compare, or undefined when the line is not a JSON event at all. */
export function looseEvent(lineBytes) {
  let o;
  try {
    o = JSON.parse(UTF8.decode(lineBytes));
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null || !Number.isSafeInteger(o.seq) || typeof o.id !== 'string' ||
      typeof o.hash !== 'string' || typeof o.prev !== 'string') return undefined;
  return { seq: o.seq, id: o.id, hash: o.hash, prev: o.prev, text: lineBytes.toString('utf8') };
}

/**
 * Read events.jsonl with plain fs. `cut` is where the valid chain ends: the first complete line
 * that is not JSON, breaks seq contiguity or the prev chain, or the start of a final fragment.
 * Crash suites never produce a line that is JSON but wrongly sealed, so this is exactly where
 * the ledger's reconcile must cut (bytes from `cut` on were never acknowledged). A final fragment
 * that is a whole chained event lacking only its "\n" is no cut: reconcile completes it (spec
 * §7.3), so it counts as an event and `completes` is set. (A prefix of a canonical line that
 * parses as JSON is the whole line: an object closes only at its end.)
 */
export function readJsonl(file) {
  const bytes = readBytes(file);
  const { lines, fragment } = splitLines(bytes);
  const events = [];
  let cut = fragment ? fragment.offset : bytes.length;
  let prev = GENESIS_PREV;
  for (const line of lines) {
    const ev = looseEvent(line.bytes);
    if (!ev || ev.seq !== events.length || ev.prev !== prev) {
      cut = line.offset;
      break;
    }
    events.push({ ...ev, offset: line.offset, end: line.end });
    prev = ev.hash;
  }
  let completes = false;
  if (fragment && cut === fragment.offset) {
    const ev = looseEvent(fragment.bytes);
    if (ev && ev.seq === events.length && ev.prev === prev) {
      events.push({ ...ev, offset: fragment.offset, end: bytes.length + 1 });
      cut = bytes.length;
      completes = true;
    }
  }
  return { bytes, lines, fragment, events, cut, completes };
}

/** Rows and watermark through a connection of our own (never the ledger's). */
export function readSqlite(file) {
  if (!fs.existsSync(file)) return { exists: false, rows: [], watermark: null };
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const has = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('events', 'watermark')").get().n === 2;
    if (!has) return { exists: true, rows: [], watermark: null };
    db.exec('BEGIN');
    const rows = db.prepare('SELECT seq, id, hash, line, offset FROM events ORDER BY seq').all();
    const w = db.prepare('SELECT seq, hash, offset, line_start AS lineStart FROM watermark WHERE id = 1').get() ?? null;
    db.exec('COMMIT');
    return { exists: true, rows, watermark: w };
  } finally {
    db.close();
  }
}

/** Torn files: name -> bytes. */
export function readTorn(dir) {
  const t = path.join(dir, TORN);
  if (!fs.existsSync(t)) return new Map();
  return new Map(fs.readdirSync(t).map((n) => [n, fs.readFileSync(path.join(t, n))]));
}

/** Ids of the events in quarantine.jsonl lines that parse; torn or merged lines are skipped. */
export function readQuarantineIds(dir) {
  const { lines } = splitLines(readBytes(path.join(dir, QUARANTINE)));
  const ids = new Set();
  for (const l of lines) {
    try {
      const r = JSON.parse(UTF8.decode(l.bytes));
      if (typeof r?.event?.id === 'string') ids.add(r.event.id);
    } catch {
      // a torn or merged line: its records are not readable
    }
  }
  return ids;
}

/**
 * count(JSONL) >= count(SQLite): every committed row is a JSONL line of the same seq with the
 * same bytes and offset, and the watermark names a line that is there. `jsonlBytes` may be the
 * file as it is, or as it would survive a power cut (property `name`).
 */
export function checkSqliteWithinJsonl(check, name, jsonlBytes, sqlite, where = '') {
  if (!check.on(name)) return;
  const { lines } = splitLines(jsonlBytes);
  const bySeq = new Map();
  for (const l of lines) {
    const ev = looseEvent(l.bytes);
    if (ev && !bySeq.has(ev.seq)) bySeq.set(ev.seq, { ...ev, offset: l.offset });
  }
  check.that(name, sqlite.rows.length <= lines.length, () => `${where}ledger.db has ${sqlite.rows.length} rows but events.jsonl only ${lines.length} complete lines`);
  for (const row of sqlite.rows) {
    const l = bySeq.get(row.seq);
    check.that(name, l !== undefined, () => `${where}ledger.db holds seq ${row.seq} (id ${row.id}) that events.jsonl lacks`, { seq: row.seq });
    check.that(name, l.text === row.line, () => `${where}seq ${row.seq}: the ledger.db row differs from the events.jsonl line`, { seq: row.seq });
    check.that(name, l.offset === row.offset, () => `${where}seq ${row.seq}: row offset ${row.offset}, line offset ${l.offset}`, { seq: row.seq });
  }
  const w = sqlite.watermark;
  if (w && w.seq >= 0) {
    check.that(name, w.offset <= jsonlBytes.length, () => `${where}watermark offset ${w.offset} is past the end of events.jsonl (${jsonlBytes.length})`);
    const at = jsonlBytes.subarray(w.lineStart, w.offset).toString('utf8');
    const l = bySeq.get(w.seq);
    check.that(name, l !== undefined && at === l.text + '\n' && l.hash === w.hash, () => `${where}watermark (seq ${w.seq}, bytes ${w.lineStart}..${w.offset}) does not name a line of events.jsonl`);
  }
}

/** Every acknowledged event is the JSONL line of its seq (and, when given, the SQLite row). */
export function checkAckedPresent(check, acked, jsonl, sqlite, where = '') {
  if (!check.on('acked-present')) return;
  const lines = new Map();
  for (const l of splitLines(jsonl.bytes).lines) {
    const ev = looseEvent(l.bytes);
    if (ev && !lines.has(ev.seq)) lines.set(ev.seq, ev);
  }
  const rows = sqlite ? new Map(sqlite.rows.map((r) => [r.seq, r])) : undefined;
  for (const a of acked.values()) {
    const l = lines.get(a.seq);
    check.that('acked-present', l !== undefined && l.id === a.id && l.hash === a.hash,
      () => `${where}acknowledged event seq ${a.seq} (id ${a.id}) is ${l ? `replaced by id ${l.id}` : 'missing'} in events.jsonl`, { seq: a.seq, id: a.id });
    if (rows) {
      const r = rows.get(a.seq);
      check.that('acked-present', r !== undefined && r.id === a.id && r.hash === a.hash,
        () => `${where}acknowledged event seq ${a.seq} (id ${a.id}) is missing from ledger.db`, { seq: a.seq, id: a.id });
    }
  }
}

/** After a successful open: both stores hold exactly the same events, nothing torn is left. */
export function checkStoresEqual(check, jsonl, sqlite, where = '') {
  const name = 'stores-equal';
  if (!check.on(name)) return;
  check.that(name, jsonl.fragment === null, () => `${where}events.jsonl ends with ${jsonl.fragment.bytes.length} bytes without a newline`);
  check.that(name, jsonl.cut === jsonl.bytes.length, () => `${where}events.jsonl holds an invalid line at byte ${jsonl.cut}`);
  check.that(name, sqlite.rows.length === jsonl.events.length, () => `${where}events.jsonl has ${jsonl.events.length} events, ledger.db ${sqlite.rows.length}`);
  for (let i = 0; i < jsonl.events.length; i++) {
    const e = jsonl.events[i];
    const r = sqlite.rows[i];
    check.that(name, r && r.seq === e.seq && r.line === e.text && r.offset === e.offset, () => `${where}seq ${e.seq}: the ledger.db row differs from events.jsonl`, { seq: e.seq });
  }
  const last = jsonl.events.at(-1);
  const w = sqlite.watermark;
  check.that(name, w !== null && (last ? w.seq === last.seq && w.hash === last.hash && w.offset === last.end : w.seq === -1 && w.offset === 0),
    () => `${where}watermark ${JSON.stringify(w)} is not the end of events.jsonl (${last ? `seq ${last.seq}, byte ${last.end}` : 'empty'})`);
}

/**
 * The torn tail seen before an open is what the open cut off, and torn/ holds its exact bytes.
 * `grown`: the writer appended after healing, so only the bytes before the cut must match.
 */
export function checkTornMoved(check, before, afterBytes, torn, where = '', grown = false) {
  const name = 'torn-moved-aside';
  if (!check.on(name)) return;
  const valid = before.completes ? Buffer.concat([before.bytes, Buffer.from('\n')]) : before.bytes.subarray(0, before.cut);
  const kept = grown ? afterBytes.subarray(0, valid.length) : afterBytes;
  check.that(name, kept.equals(valid),
    () => `${where}events.jsonl is ${afterBytes.length} bytes after open; expected the ${before.cut} valid bytes of ${before.bytes.length}${before.completes ? ' and the newline completing the last event' : ''}`);
  if (before.cut < before.bytes.length) {
    const tail = before.bytes.subarray(before.cut);
    check.that(name, [...torn.values()].some((b) => b.equals(tail)), () => `${where}the ${tail.length}-byte tail at ${before.cut} is not in torn/ (${torn.size} files)`, { offset: before.cut });
  }
}

export function describeError(e) {
  if (e instanceof Error) return `${e.name}${e.code ? ` ${e.code}` : ''}: ${e.message}`;
  return String(e);
}
