/**
 * Real kills: spawn writer processes (fuzz/kill/writer.mjs, running the built package) on one
 * ledger folder, SIGKILL them at moments fast-check picks, then check the files on disk with the
 * independent readers of oracle.mjs (events.jsonl through plain fs, ledger.db through a separate
 * connection) and reopen with the library under test. Kills do not lose the page cache, so
 * process-crash properties apply: nothing acknowledged may be missing, SQLite never ahead of
 * JSONL, reopen heals, a killed lock holder does not wedge the others.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import * as O from './oracle.mjs';

export const WRITER = fileURLToPath(new URL('../kill/writer.mjs', import.meta.url));
const SEED_HEX = '42'.repeat(32);
const KEY_NAME = 'kill-suite';

const writerArb = fc.record({
  mode: fc.constantFrom('single', 'batch', 'concurrent'),
  count: fc.integer({ min: 3, max: 300 }),
  // Some batches large enough for the signing threads (spec §13.8: 64 events or more).
  batch: fc.oneof(fc.integer({ min: 2, max: 20 }), fc.integer({ min: 64, max: 100 })),
  concurrency: fc.integer({ min: 2, max: 16 }),
  pad: fc.constantFrom(0, 0, 200, 5000),
  // A third of the writers run the projection on a worker thread (spec §13.9), with a lag bound
  // small enough to be reached; they share the folder with inline writers.
  worker: fc.constantFrom(false, false, true),
  maxLagEvents: fc.constantFrom(0, 8, 200),
});

const roundArb = fc.record({
  writers: fc.array(writerArb, { minLength: 1, maxLength: 3 }),
  // When to kill each writer: some ms after it was spawned or after it reported READY.
  kills: fc.array(fc.record({ after: fc.constantFrom('spawn', 'ready', 'ready'), ms: fc.integer({ min: 0, max: 250 }) }), { minLength: 3, maxLength: 3 }),
  // Index of a writer left to finish (none when >= writers.length): the others must not wedge it.
  spare: fc.nat(5),
  damage: fc.constantFrom('none', 'none', 'none', 'torn', 'stale-db', 'no-db'),
  tornBytes: fc.uint8Array({ minLength: 1, maxLength: 300 }),
});

export const killScenarioArb = fc.record({
  seedEvents: fc.nat(30),
  rounds: fc.array(roundArb, { minLength: 1, maxLength: 3 }),
});

export function newKillStats() {
  return { scenarios: 0, rounds: 0, spawned: 0, largeBatchWriters: 0, kills: 0, finished: 0, acked: 0, killedBeforeReady: 0, tornMoved: 0 };
}

/**
 * @param {object} lib the library the parent checks with (the children always run dist/)
 * @param {{ stats?: object, only?: string[], mutant?: string, dist?: string, root?: string, keep?: boolean, keepOnFailure?: boolean }} config
 *   `dist`: the built package the children run (default dist/)
 */
export function killProperty(lib, config = {}) {
  return fc.asyncProperty(killScenarioArb, (scenario) => runKillScenario(lib, scenario, config));
}

export async function runKillScenario(lib, scenario, config = {}) {
  const base = process.env.SEALED_LEDGER_KILL_TMP ?? os.tmpdir();
  const root = config.root ?? fs.mkdtempSync(path.join(base, 'sealed-ledger-kill-'));
  const dir = path.join(root, 'ledger');
  const stats = config.stats ?? newKillStats();
  const check = O.makeChecker(config.only);
  const files = O.ledgerFiles(dir);
  const key = lib.signingKeyFromSeed(Buffer.from(SEED_HEX, 'hex'), KEY_NAME);
  stats.scenarios++;
  try {
    const ledger = await lib.Ledger.open({ dir, create: true, signer: key });
    for (let i = 0; i < scenario.seedEvents; i++) await ledger.append({ kind: 'seed', id: `seed-${i}`, payload: i });
    await ledger.close();
    const staleDb = fs.readFileSync(files.sqlite);
    const acked = new Map();
    const tornEntries = [];
    for (const [r, round] of scenario.rounds.entries()) {
      stats.rounds++;
      damage(files, round, staleDb, tornEntries);
      const results = await runRound(dir, round, r, config, stats);
      const setting = `round ${r}: damage ${round.damage}, writers ${round.writers.map((w) => `${w.mode}${w.worker ? '/worker' : ''}`).join('+')}`;
      for (const res of results) {
        check.that('no-unexpected-error', res.errors.length === 0, () => `${setting}: writer ${res.writer} failed: ${res.errors.join('; ')}`);
        if (res.spare) check.that('no-unexpected-error', res.done, () => `${setting}: writer ${res.writer} was not killed but did not finish (exit ${res.exit})`);
        for (const a of res.acks) acked.set(a.id, a);
        stats.acked += res.acks.length;
      }
      // At rest, with nothing but plain fs and a connection of our own.
      const jsonl = O.readJsonl(files.jsonl);
      const sqlite = O.readSqlite(files.sqlite);
      O.checkSqliteWithinJsonl(check, 'sqlite-within-jsonl', jsonl.bytes, sqlite, `after kills in round ${r}: `);
      checkAckedById(check, acked, jsonl, undefined, `after kills in round ${r}: `);
      checkTorn(check, tornEntries, jsonl.bytes, dir, `after kills in round ${r}: `);
      await reopenAndCheck(lib, dir, files, key, check, acked, tornEntries, stats, r);
    }
  } catch (e) {
    if (e instanceof O.PropertyViolation && config.keepOnFailure !== false) e.message += `\n  folder kept at ${root}`;
    else fs.rmSync(root, { recursive: true, force: true });
    throw e;
  }
  if (!config.keep) fs.rmSync(root, { recursive: true, force: true });
}

function damage(files, round, staleDb, tornEntries) {
  if (round.damage === 'torn') {
    // A crashed append's fragment (no newline) for the next open to move aside.
    const bytes = Buffer.from(round.tornBytes.map((b) => (b === 0x0a ? 0x20 : b)));
    const offset = fs.statSync(files.jsonl).size;
    fs.appendFileSync(files.jsonl, bytes);
    tornEntries.push({ offset, bytes });
  } else if (round.damage === 'stale-db' || round.damage === 'no-db') {
    // A ledger.db that lost its latest commits (or all of it): the next open replays.
    for (const s of ['', '-wal', '-shm']) fs.rmSync(files.sqlite + s, { force: true });
    if (round.damage === 'stale-db') fs.writeFileSync(files.sqlite, staleDb);
  }
}

function runRound(dir, round, r, config, stats) {
  // The sqlite-first mutant never finishes by itself: kill every writer.
  const spare = round.spare < round.writers.length && config.mutant !== 'sqlite-first' ? round.spare : -1;
  return Promise.all(round.writers.map(async (w, i) => {
    const isSpare = i === spare;
    const cfg = {
      dir, writer: `r${r}w${i}`, mode: w.mode, worker: w.worker, maxLagEvents: w.maxLagEvents, count: isSpare ? Math.min(w.count, 40) : w.count, batch: w.batch,
      concurrency: w.concurrency, pad: w.pad, seed: SEED_HEX, keyName: KEY_NAME,
      ...(config.mutant ? { mutant: config.mutant } : {}),
      ...(config.dist ? { dist: config.dist } : {}),
    };
    const res = await runWriter(cfg, isSpare ? undefined : round.kills[i], stats);
    return { ...res, spare: isSpare };
  }));
}

/** Spawn one writer and kill it as planned; resolves with what it reported. */
function runWriter(cfg, kill, stats) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
    stats.spawned++;
    // Signed batches of 64+ events: the writer's signing threads sign them (spec §13.8).
    if (cfg.mode === 'batch' && cfg.batch >= 64) stats.largeBatchWriters++;
    let out = '';
    let err = '';
    let ready = false;
    let killed = false;
    const doKill = () => {
      if (child.exitCode === null && child.signalCode === null) {
        killed = child.kill('SIGKILL');
        if (killed && !ready) stats.killedBeforeReady++;
      }
    };
    const timers = [];
    if (kill?.after === 'spawn') timers.push(setTimeout(doKill, kill.ms));
    // Nothing may hang: a writer still running after 60 s is a failure.
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new O.PropertyViolation('no-unexpected-error', `writer ${cfg.writer} hung (stdout: ${out.slice(-300)}, stderr: ${err.slice(-300)})`));
    }, 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (!ready && out.includes('READY ')) {
        ready = true;
        if (kill?.after === 'ready') timers.push(setTimeout(doKill, kill.ms));
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      timers.forEach(clearTimeout);
      const wasKilled = killed && signal === 'SIGKILL';
      if (wasKilled) stats.kills++;
      const lines = out.split('\n');
      lines.pop(); // an unterminated last line was cut by the kill
      const acks = [];
      const errors = [];
      let done = false;
      for (const l of lines) {
        const [tag, ...rest] = l.split(' ');
        if (tag === 'ACK') acks.push({ seq: rest[0] === '?' ? undefined : Number(rest[0]), id: rest[1], hash: rest[2] === '?' ? undefined : rest[2] });
        else if (tag === 'ERR') errors.push(rest.join(' '));
        else if (tag === 'DONE') done = true;
      }
      if (done) stats.finished++;
      if (!wasKilled && !done && errors.length === 0) errors.push(`exit ${code ?? signal}; stderr: ${err.slice(-500)}`);
      resolve({ writer: cfg.writer, acks, errors, done, exit: code ?? signal });
    });
  });
}

/** Acknowledged events by id (a premature ack of the mutant carries no seq). */
function checkAckedById(check, acked, jsonl, sqlite, where) {
  if (!check.on('acked-present')) return;
  const byId = new Map();
  for (const l of O.splitLines(jsonl.bytes).lines) {
    const ev = O.looseEvent(l.bytes);
    if (ev) byId.set(ev.id, ev);
  }
  const rows = sqlite ? new Map(sqlite.rows.map((r) => [r.id, r])) : undefined;
  for (const a of acked.values()) {
    const l = byId.get(a.id);
    const same = (x) => x !== undefined && (a.seq === undefined || (x.seq === a.seq && x.hash === a.hash));
    check.that('acked-present', same(l), () => `${where}acknowledged event ${a.id} (seq ${a.seq}) is not in events.jsonl`, { id: a.id });
    if (rows) check.that('acked-present', same(rows.get(a.id)), () => `${where}acknowledged event ${a.id} (seq ${a.seq}) is not in ledger.db`, { id: a.id });
  }
}

function checkTorn(check, tornEntries, jsonlBytes, dir, where) {
  if (tornEntries.length === 0) return;
  const torn = O.readTorn(dir);
  for (const e of tornEntries) {
    const inJsonl = jsonlBytes.subarray(e.offset, e.offset + e.bytes.length).equals(e.bytes);
    const inTorn = [...torn.values()].some((b) => b.equals(e.bytes));
    check.that('torn-moved-aside', inJsonl || inTorn, () => `${where}the ${e.bytes.length}-byte tail at ${e.offset} is neither in events.jsonl nor in torn/`);
  }
}

async function reopenAndCheck(lib, dir, files, key, check, acked, tornEntries, stats, r) {
  const before = O.readJsonl(files.jsonl);
  let ledger;
  try {
    ledger = await lib.Ledger.open({ dir, signer: key });
  } catch (e) {
    check.that('reopen-succeeds', false, () => `open after round ${r} failed: ${O.describeError(e)}`);
    throw e;
  }
  const jsonl = O.readJsonl(files.jsonl);
  const sqlite = O.readSqlite(files.sqlite);
  await ledger.close();
  const where = `after reopen in round ${r}: `;
  O.checkStoresEqual(check, jsonl, sqlite, where);
  checkAckedById(check, acked, jsonl, sqlite, where);
  O.checkTornMoved(check, before, jsonl.bytes, O.readTorn(dir), where);
  checkTorn(check, tornEntries, jsonl.bytes, dir, where);
  if (before.cut < before.bytes.length) stats.tornMoved++;
  if (check.on('verify-ok')) {
    const v = await lib.verifyLedger({ dir }, { ...lib.verifyDefaults });
    check.that('verify-ok', v.ok, () => `${where}verifyLedger: ${JSON.stringify({ problems: v.problems.slice(0, 3), tornTail: v.tornTail, parity: v.parity.inParity })}`);
  }
  if (check.on('reconcile-idempotent')) {
    const again = await lib.Ledger.open({ dir, signer: key });
    const rep = again.lastReconcile;
    await again.close();
    check.that('reconcile-idempotent', rep.replayed === 0 && rep.restored.length === 0 && rep.tornTail === undefined,
      () => `${where}a second open replayed ${rep.replayed}, restored ${rep.restored.length}, moved ${rep.tornTail?.length ?? 0} torn bytes`);
    check.that('reconcile-idempotent', O.readBytes(files.jsonl).equals(jsonl.bytes), `${where}a second open changed events.jsonl`);
  }
}
