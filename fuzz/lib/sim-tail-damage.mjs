/**
 * Tail damage for the simulated crash suite: after a crash and before recovery, the tail of
 * events.jsonl (or the watermark) is damaged the way spec §7.3 and §14.1 distinguish, so long runs
 * reach the branches of tail replay that crashes alone never produce.
 *
 * In place (the recovery that follows must heal it, under every property of oracle.mjs):
 *   fork      one line with the next seq, correctly sealed and signed, chained to a fork: moved aside
 *   damaged   that line or a gapped one, then 1 or 2 lines that are not events, maybe a fragment:
 *             one torn tail, moved aside whole
 *   rowsAhead the watermark moved back over rows that stay (rows past the watermark): counted as
 *             already present
 * On a copy (open must refuse, change nothing, and the copy is dropped):
 *   forged    a chained line signed by a key outside the keyring, or with another event's signature
 *   fork2     two chained lines of a fork: damage to history (LEDGER_CORRUPT)
 *   conflict  rows past the watermark that differ from JSONL at their seq (MIRROR_CONFLICT)
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import * as O from './oracle.mjs';

export const TAIL_DAMAGE = ['fork', 'damaged', 'rowsAhead', 'forged', 'fork2', 'conflict'];

export const tailDamageArb = fc.record({
  kind: fc.constantFrom(...TAIL_DAMAGE),
  first: fc.constantFrom('fork', 'gap', 'none'),
  junk: fc.array(fc.constantFrom('garbage', '{"not":"an event"}', '{"seq":', '\u00e9\u00e8'), { minLength: 1, maxLength: 2 }),
  fragment: fc.boolean(),
  back: fc.integer({ min: 1, max: 3 }),
  foreign: fc.boolean(),
});

const FOREIGN_SEED = Buffer.alloc(32, 99);

/** Apply `d` to the crashed folder of `ctx`; counts what it did in ctx.stats.tailDamage. */
export async function applyTailDamage(ctx, d, survivor) {
  const stats = (ctx.stats.tailDamage ??= {});
  const jsonl = O.readJsonl(ctx.files.jsonl);
  // A whole event without its newline counts as an event (open completes it, spec §7.3), but
  // lines appended after it would join it: damage is applied only after a final newline.
  const clean = jsonl.cut === jsonl.bytes.length && (jsonl.bytes.length === 0 || jsonl.bytes[jsonl.bytes.length - 1] === 0x0a);
  const last = jsonl.events.at(-1);
  let did;
  switch (d.kind) {
    case 'fork':
      did = clean && last ? (append(ctx, [forkLine(ctx, jsonl, 'fork')]), 'fork') : undefined;
      break;
    case 'damaged':
      did = damaged(ctx, jsonl, d);
      break;
    case 'rowsAhead':
      did = survivor ? undefined : rowsAhead(ctx, d.back);
      break;
    case 'forged':
      did = clean && last ? await onCopy(ctx, (dir) => forged(ctx, dir, jsonl, d.foreign)) : undefined;
      break;
    case 'fork2':
      did = clean && last ? await onCopy(ctx, (dir) => fork2(ctx, dir, jsonl)) : undefined;
      break;
    case 'conflict':
      did = await onCopy(ctx, (dir) => conflict(ctx, dir));
      break;
  }
  const key = did ?? `${d.kind}-skipped`;
  stats[key] = (stats[key] ?? 0) + 1;
  if (did) ctx.trail.push(`tail damage: ${did}`);
}

function lineOf(lib, ev) {
  return lib.encodeEventLine(ev, lib.canonicalize(ev.payload));
}

/** A sealed event at `seq` chained to `prev`, signed as the scenario signs (or by `signer`). */
function eventAt(ctx, seq, prev, payload, signer) {
  const sealed = ctx.lib.sealEvent({ kind: 'doc.edit', id: `tail-${seq}-${ctx.nextId++}`, at: '2026-02-03T04:05:06Z', payload }, { seq, prev });
  const by = signer ?? (ctx.signed ? ctx.key : undefined);
  return by ? ctx.lib.signEvent(sealed, by) : sealed;
}

/** The next seq of the valid chain, chained to a fork (a prev that is not the last hash). */
function forkLine(ctx, jsonl, payload) {
  const seq = jsonl.events.length;
  const forkPrev = seq >= 2 ? jsonl.events[seq - 2].hash : 'f'.repeat(64);
  return lineOf(ctx.lib, eventAt(ctx, seq, forkPrev, payload));
}

function append(ctx, lines, fragment = '') {
  fs.appendFileSync(ctx.files.jsonl, lines.map((l) => `${l}\n`).join('') + fragment);
}

function damaged(ctx, jsonl, d) {
  // A whole event without its newline counts as an event (open completes it, spec §7.3), but
  // lines appended after it would join it: damage is applied only after a final newline.
  const clean = jsonl.cut === jsonl.bytes.length && (jsonl.bytes.length === 0 || jsonl.bytes[jsonl.bytes.length - 1] === 0x0a);
  const lines = [];
  // A sealed line may only come first: one after damage is a valid event following it (§7.3).
  if (clean && d.first === 'fork' && jsonl.events.length > 0) lines.push(forkLine(ctx, jsonl, 'damaged'));
  if (clean && d.first === 'gap') lines.push(lineOf(ctx.lib, eventAt(ctx, jsonl.events.length + 1, jsonl.events.at(-1)?.hash ?? O.GENESIS_PREV, 'gap')));
  lines.push(...d.junk);
  append(ctx, lines, d.fragment ? '{"at":"2026-' : '');
  ctx.trail.push(`${lines.length} damaged lines${d.fragment ? ' and a fragment' : ''}`);
  return clean ? 'damaged' : 'damaged-after-torn';
}

/** Move the watermark back `back` rows; the rows stay (spec §14.1: already present). */
function rowsAhead(ctx, back) {
  // A power cut may have taken a ledger.db whose folder entry was never made durable.
  if (!fs.existsSync(ctx.files.sqlite)) return undefined;
  const db = new Database(ctx.files.sqlite, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const w = db.prepare('SELECT seq FROM watermark WHERE id = 1').get();
    const to = w ? w.seq - back : -1;
    if (to < 0) return undefined;
    const row = db.prepare('SELECT hash, offset, line FROM events WHERE seq = ?').get(to);
    if (!row) return undefined;
    db.prepare('UPDATE watermark SET seq = ?, hash = ?, offset = ?, line_start = ? WHERE id = 1')
      .run(to, row.hash, row.offset + Buffer.byteLength(row.line) + 1, row.offset);
  } finally {
    db.close();
  }
  ctx.disk.committed('rows-ahead');
  return 'rowsAhead';
}

/** Run `f` on a copy of the folder: it damages the copy and checks the refusal. */
async function onCopy(ctx, f) {
  const dir = `${ctx.dir}-copy`;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(ctx.dir, dir, { recursive: true });
  fs.rmSync(path.join(dir, `${O.SQLITE}-shm`), { force: true });
  try {
    return await f(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Open `dir` expecting a refusal whose code is in `codes` and details match; nothing may change. */
async function expectRefusal(ctx, dir, what, codes, details = {}) {
  const files = O.ledgerFiles(dir);
  // Rows and watermark (an open may still migrate a ledger.db a power cut left without tables).
  const state = () => {
    const s = O.readSqlite(files.sqlite);
    return JSON.stringify({ rows: s.rows, watermark: s.watermark });
  };
  const before = { jsonl: O.readBytes(files.jsonl), rows: state() };
  let error;
  try {
    const l = await ctx.lib.Ledger.open({ dir, keyring: ctx.keyring, policy: ctx.policy });
    await l.close();
  } catch (e) {
    error = e;
  }
  const fine = error && codes.includes(error.code) && Object.entries(details).every(([k, v]) => error.details?.[k] === v);
  ctx.check.that('tamper-detected', !!fine, () => `${what}: open should refuse with ${codes.join('/')} ${JSON.stringify(details)}, got ${error ? O.describeError(error) : 'success'}`);
  ctx.check.that('tamper-detected', O.readBytes(files.jsonl).equals(before.jsonl), `${what}: a refused open changed events.jsonl`);
  const after = state();
  const migratedOnly = JSON.parse(before.rows).watermark === null && JSON.parse(after).rows.length === 0;
  ctx.check.that('tamper-detected', after === before.rows || migratedOnly, `${what}: a refused open changed ledger.db`);
}

async function forged(ctx, dir, jsonl, foreign) {
  const seq = jsonl.events.length;
  const prev = jsonl.events.at(-1).hash;
  let ev;
  if (foreign) {
    ev = eventAt(ctx, seq, prev, 'forged', ctx.lib.signingKeyFromSeed(FOREIGN_SEED, 'outside'));
  } else {
    // A valid signature by the ledger's key, over another event.
    const other = ctx.lib.signEvent(eventAt(ctx, seq, prev, 'other', null), ctx.key);
    ev = { ...eventAt(ctx, seq, prev, 'forged', null), sig: other.sig };
  }
  fs.appendFileSync(path.join(dir, O.JSONL), `${lineOf(ctx.lib, ev)}\n`);
  await expectRefusal(ctx, dir, `forged line at seq ${seq}`, [foreign ? 'UNKNOWN_KEY' : 'INVALID_SIGNATURE'], { seq, offset: jsonl.bytes.length });
  return foreign ? 'forged-unknown-key' : 'forged-signature';
}

async function fork2(ctx, dir, jsonl) {
  const first = forkLine(ctx, jsonl, 'fork');
  const e = JSON.parse(first);
  const second = lineOf(ctx.lib, eventAt(ctx, e.seq + 1, e.hash, 'fork'));
  fs.appendFileSync(path.join(dir, O.JSONL), `${first}\n${second}\n`);
  await expectRefusal(ctx, dir, `two-line fork at seq ${e.seq}`, ['LEDGER_CORRUPT'], { offset: jsonl.bytes.length, followingSeq: e.seq + 1 });
  return 'fork2';
}

/**
 * Rows past the watermark that differ from JSONL: the watermark goes back one row, and the JSONL
 * line of the row after it is replaced by another event of that seq (all of JSONL after it cut).
 */
async function conflict(ctx, dir) {
  const files = O.ledgerFiles(dir);
  const sqlite = O.readSqlite(files.sqlite);
  const jsonl = O.readJsonl(files.jsonl);
  const w = sqlite.watermark;
  if (!w || w.seq < 1 || jsonl.events.length <= w.seq) return undefined;
  const below = sqlite.rows.find((r) => r.seq === w.seq - 1);
  const at = sqlite.rows.find((r) => r.seq === w.seq);
  if (!below || !at) return undefined;
  const db = new Database(files.sqlite, { fileMustExist: true });
  try {
    db.prepare('UPDATE watermark SET seq = ?, hash = ?, offset = ?, line_start = ? WHERE id = 1')
      .run(below.seq, below.hash, below.offset + Buffer.byteLength(below.line) + 1, below.offset);
  } finally {
    db.close();
  }
  const other = eventAt(ctx, at.seq, below.hash, 'conflicting');
  fs.writeFileSync(files.jsonl, Buffer.concat([jsonl.bytes.subarray(0, at.offset), Buffer.from(`${lineOf(ctx.lib, other)}\n`)]));
  // Inspect mode (doctor, verify) must report what a writable open refuses.
  const ro = await ctx.lib.Ledger.open({ dir, readOnly: true, keyring: ctx.keyring, policy: ctx.policy });
  const problems = ro.inspection?.problems ?? [];
  await ro.close();
  ctx.check.that('tamper-detected', problems.some((p) => p.startsWith(`MIRROR_CONFLICT: seq ${at.seq}:`)), () => `a different event at seq ${at.seq} than its row: inspect mode should report MIRROR_CONFLICT, got ${JSON.stringify(problems)}`);
  await expectRefusal(ctx, dir, `a different event at seq ${at.seq} than its row`, ['MIRROR_CONFLICT'], { seq: at.seq });
  return 'conflict';
}
