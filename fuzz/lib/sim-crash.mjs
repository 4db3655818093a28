/**
 * Simulated crashes: fast-check generates a workload (concurrent appends, batches, group commits
 * with many waiters, a second writer, idempotent retries, reopen, replay) in segments; each
 * segment ends in a crash (a process crash or a power cut) at a named crash point, at any FileIO
 * operation (a write may be cut short), or at rest. After every crash the files are checked with
 * independent readers, then the ledger is recovered (open, replay then open, rebuild then open,
 * or a surviving writer healing in its lock), possibly crashing again during reconcile, and the
 * after-reopen properties are checked. See oracle.mjs for the property list.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Disk, SimProcess, makeRng } from './disk-model.mjs';
import * as O from './oracle.mjs';
import { scenarioArb } from './sim-scenario.mjs';
import { applyTailDamage } from './sim-tail-damage.mjs';

export { APPEND_POINTS, RECONCILE_POINTS, WORKER_POINTS, scenarioArb } from './sim-scenario.mjs';


/** Counters a suite prints at the end. */
export function newStats() {
  return { scenarios: 0, signedLargeBatches: 0, checkpoints: 0, crashes: 0, processCrashes: 0, powerCuts: 0, crashesDuringOpen: 0, byWhere: {}, acked: 0, tornMoved: 0, tornCompleted: 0, workerReplays: 0, opens: 0, refusedOpens: 0, tailDamage: {} };
}

/**
 * @param {object} lib the library under test: Ledger, SimulatedCrash, NODE_FILE_IO, verifyLedger,
 *   replayJsonlIntoSqlite, Keyring, signingKeyFromSeed, payloadRule, allowKinds
 * @param {{ stats?: object, only?: string[], mutant?: string, holes?: boolean, root?: string, keep?: boolean }} config
 */
export function simulatedCrashProperty(lib, config = {}) {
  // SEALED_LEDGER_FUZZ_TRACE=<file>: the scenario about to run is written there first, so a run
  // that takes the whole process down (an abort in native code prints no counterexample) names it.
  const trace = process.env.SEALED_LEDGER_FUZZ_TRACE;
  let n = 0;
  return fc.asyncProperty(scenarioArb, (scenario) => {
    if (trace) fs.writeFileSync(trace, `run ${++n}\n${fc.stringify(scenario)}\n`);
    return runScenario(lib, scenario, config);
  });
}

export function tmpRoot() {
  const base = process.env.SEALED_LEDGER_FUZZ_TMP ?? (fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir());
  return fs.mkdtempSync(path.join(base, 'sealed-ledger-crash-'));
}

const SEED = Buffer.alloc(32, 7);

export async function runScenario(lib, scenario, config = {}) {
  const root = config.root ?? tmpRoot();
  const dir = path.join(root, 'ledger');
  const stats = config.stats ?? newStats();
  const key = lib.signingKeyFromSeed(SEED, 'crash-suite');
  const keyring = new lib.Keyring([{ kid: key.kid, name: key.name, publicKey: key.publicKey }]);
  const ctx = {
    lib, config, stats, dir, files: O.ledgerFiles(dir), check: O.makeChecker(config.only),
    disk: new Disk(dir, { holes: config.holes ?? false }),
    signed: scenario.signed, key, keyring, projectionLagMs: scenario.projectionLagMs, workerBound: scenario.workerBound,
    // config.projectionWorker pins the mode (the CI slice runs each mode within its own time bound).
    projectionWorker: config.projectionWorker ?? scenario.projectionWorker,
    policy: [lib.payloadRule('hold', 'q.hold', () => 'held for review', 'quarantine'), lib.payloadRule('no', 'r.no', () => 'not allowed', 'reject')],
    created: false, acked: new Map(), attempted: [], quarantined: new Set(), tornEntries: [], nextId: 0,
    primary: undefined, other: undefined, opened: [], openCrash: undefined, trail: [],
  };
  stats.scenarios++;
  try {
    if (scenario.createCrash) {
      const proc = newProcess(ctx, 'create', planOf(scenario.createCrash));
      const opened = await openLedger(ctx, proc);
      if (opened) await opened.close();
      else await afterCrash(ctx, scenario.createCrash);
    }
    ctx.primary = await recover(ctx, { recovery: 'open', recoveryCrashes: [] });
    for (const [i, seg] of scenario.segments.entries()) {
      ctx.trail.push(`segment ${i}`);
      await runSegment(ctx, seg);
    }
    await closeAll(ctx);
    if (ctx.violation) throw ctx.violation;
  } catch (err) {
    await abandon(ctx);
    if (err instanceof RefusedOpen && !ctx.violation) return; // the documented end of this history
    const e = ctx.violation ?? err;
    if (e instanceof O.PropertyViolation) e.message += `\n  trail: ${ctx.trail.slice(-12).join(' | ')}`;
    throw e;
  } finally {
    if (!config.keep) fs.rmSync(root, { recursive: true, force: true });
  }
}

function planOf(crash) {
  return crash.plan.at === 'idle' ? undefined : { ...crash.plan, kind: crash.kind };
}

function mutantFor(ctx, role) {
  const m = ctx.config.mutant;
  if (m === undefined) return undefined;
  // '-once': only the first open after the first crash.
  if (m.endsWith('-once')) return role === 'recover' && ctx.crashCount > 0 && !ctx.mutantUsed ? ((ctx.mutantUsed = true), m.slice(0, -5)) : undefined;
  return m;
}

function newProcess(ctx, role, plan) {
  return new SimProcess(ctx.disk, ctx.lib, {
    plan,
    mutant: mutantFor(ctx, role),
    onPoint: (point, proc) => instantCheck(ctx, point, proc),
  });
}

/**
 * At every crash point: what SQLite has committed must already be durable in events.jsonl (a
 * power cut now must not leave SQLite ahead). Where a writer has just taken the lock: no other
 * writer still has lines in its projection worker (spec §13.9: lock.db is released only once
 * they are committed; else this writer's heal would insert their rows under that worker).
 */
function instantCheck(ctx, point, proc) {
  if ((point === 'append.locked' || point === 'reconcile.locked') && ctx.check.on('lock-exclusive')) {
    for (const w of ctx.opened) {
      if (w.proc === proc || ctx.lib.ledgerState(w.ledger) !== 'open') continue;
      const lag = ctx.lib.projectionWorkerOf(w.ledger)?.lag ?? 0;
      if (lag === 0) continue;
      ctx.violation ??= new O.PropertyViolation('lock-exclusive', `at ${point}: another open writer has ${lag} lines handed to its projection worker and not committed`);
      throw ctx.violation;
    }
  }
  if (!ctx.check.on('sqlite-within-durable-jsonl') && !ctx.check.on('sqlite-within-jsonl')) return;
  try {
    const sqlite = O.readSqlite(ctx.files.sqlite);
    O.checkSqliteWithinJsonl(ctx.check, 'sqlite-within-jsonl', O.readBytes(ctx.files.jsonl), sqlite, `at ${point}: `);
    O.checkSqliteWithinJsonl(ctx.check, 'sqlite-within-durable-jsonl', ctx.disk.durableBytes(ctx.files.jsonl), sqlite, `at ${point} (durable bytes): `);
  } catch (e) {
    // Thrown inside the ledger, which may turn it into an append error: remember it.
    ctx.violation ??= e;
    throw e;
  }
}

/**
 * Out-of-order writeback (the `holes` model) can leave garbage followed by an intact later line;
 * spec §7.3 and ADR 0008 refuse to open then. The refusal must change nothing and lose nothing.
 */
class RefusedOpen extends Error {}


function refused(ctx, e) {
  const now = O.readJsonl(ctx.files.jsonl);
  ctx.check.that('reopen-succeeds', now.bytes.equals(ctx.beforeOpen.bytes), 'a refused open changed events.jsonl');
  O.checkAckedPresent(ctx.check, ctx.acked, now, undefined, 'after a refused open: ');
  ctx.stats.refusedOpens++;
  ctx.trail.push(`REFUSED ${e.message}`);
  return new RefusedOpen(e.message);
}

/** A violation seen inside the ledger wins over whatever the ledger made of it. */
function rethrowViolation(ctx, e) {
  if (ctx.violation) throw ctx.violation;
  if (e instanceof O.PropertyViolation) throw e;
}

function ledgerOptions(ctx, proc, create) {
  return {
    ...ctx.lib.ledgerDefaults,
    dir: ctx.dir, create, keyring: ctx.keyring, policy: ctx.policy, lockTimeoutMs: 5000,
    ...(ctx.projectionLagMs === undefined ? {} : { projectionLagMs: ctx.projectionLagMs }),
    ...(ctx.signed ? { signer: ctx.key } : {}),
    ...(ctx.projectionWorker ? { projectionWorker: ctx.workerBound === 'loose' ? { maxLagEvents: 100_000, maxLagMs: 60_000 } : { maxLagEvents: 4, maxLagMs: 5 } } : {}),
    io: proc.io, crashHook: proc.hook,
  };
}

/** Open with `proc`; undefined when the process died during open. */
async function openLedger(ctx, proc) {
  noteTornTail(ctx);
  try {
    const ledger = await ctx.lib.Ledger.open(ledgerOptions(ctx, proc, !ctx.created));
    ctx.created = true;
    ctx.stats.opens++;
    ctx.disk.committed('open');
    const w = { ledger, proc, close: () => ledger.close() };
    ctx.opened.push(w);
    return w;
  } catch (e) {
    rethrowViolation(ctx, e);
    if (ctx.config.holes && e?.code === 'LEDGER_CORRUPT' && e.details?.followingSeq !== undefined) throw refused(ctx, e);
    if (!(proc.dead || ctx.disk.cut)) {
      ctx.check.that('reopen-succeeds', false, () => `open failed: ${O.describeError(e)}`);
      // Not judging reopen: this history cannot go on, and says nothing about the others.
      throw new RefusedOpen(e.message);
    }
    ctx.stats.crashesDuringOpen++;
    proc.closeLeftovers();
    ctx.openCrash = { proc, where: proc.diedAt ?? 'power cut' };
    return undefined;
  }
}

/** A crash point inside the projection worker is armed in the worker itself (spec §13.9). */
function armWorker(ctx, w, plan) {
  if (plan?.at !== 'point' || !plan.point.startsWith('worker.') || plan.batch === undefined) return;
  ctx.lib.projectionWorkerOf(w.ledger)?.armCrash(plan.point, plan.batch);
}

async function runSegment(ctx, seg) {
  const plan = planOf(seg.crash);
  // The second writer can only be the victim if the segment starts one.
  const victim = seg.ops.some((op) => op.t === 'other') ? seg.crash.victim : 0;
  ctx.victim = victim;
  ctx.primary.proc.arm(victim === 0 ? plan : undefined);
  if (victim === 0) armWorker(ctx, ctx.primary, plan);
  ctx.otherPlan = victim === 1 ? plan : undefined;
  const anyDead = () => ctx.openCrash || !ctx.primary?.proc.alive || (ctx.other && !ctx.other.proc.alive);
  for (const op of seg.ops) {
    ctx.trail.push(op.t);
    await runOp(ctx, op);
    if (ctx.violation) throw ctx.violation;
    if (anyDead()) break;
  }
  if (!anyDead()) {
    // The plan did not fire during the workload: the crash comes at rest.
    const victim = ctx.victim === 1 && ctx.other ? ctx.other : ctx.primary;
    victim.proc.dead = true;
    victim.proc.diedAt = 'idle';
    if (seg.crash.kind === 'power') ctx.disk.cut = true;
  }
  const survivor = await afterCrash(ctx, seg.crash);
  if (seg.tailDamage) await applyTailDamage(ctx, seg.tailDamage, survivor);
  ctx.primary = await recover(ctx, seg, survivor);
  ctx.other = undefined;
}

/** Stop every process as the crash demands, cut the power if it was a power cut, check at rest. */
async function afterCrash(ctx, crash) {
  const power = ctx.disk.cut;
  let survivor;
  const where = [];
  for (const w of [ctx.primary, ctx.other]) {
    if (!w) continue;
    if (power || !w.proc.alive) {
      if (ctx.lib.ledgerState(w.ledger) === 'open') ctx.lib.simulateProcessDeath(w.ledger);
      w.proc.dead = true;
      w.proc.diedAt ??= 'power cut';
      w.proc.closeLeftovers();
      where.push(w.proc.diedAt);
    } else {
      survivor = w;
    }
  }
  if (ctx.openCrash) where.unshift(`open/${ctx.openCrash.where}`);
  ctx.openCrash = undefined;
  const label = where.find((x) => !/power cut|already dead/.test(x)) ?? where[0] ?? 'idle';
  ctx.trail.push(`${power ? 'POWER' : 'CRASH'} @${label}`);
  ctx.crashCount = (ctx.crashCount ?? 0) + 1;
  countCrash(ctx, power, label);
  if (power) {
    if (survivor) {
      ctx.lib.simulateProcessDeath(survivor.ledger);
      survivor = undefined;
    }
    const r = ctx.disk.powerLoss(makeRng(crash.rngSeed), crash.sqliteBack);
    ctx.trail.push(`restored ${r.sqliteRestored}${r.lostEntries.length ? `, lost ${r.lostEntries.join(',')}` : ''}`);
  }
  atRest(ctx, power ? 'after power cut: ' : 'after crash: ');
  return survivor;
}

function countCrash(ctx, power, where) {
  const s = ctx.stats;
  s.crashes++;
  if (power) s.powerCuts++;
  else s.processCrashes++;
  const key = `${power ? 'power' : 'process'}@${String(where).replace(/ \(.*\)$/, '').replace(/ \d+\/\d+ bytes/, '')}`;
  s.byWhere[key] = (s.byWhere[key] ?? 0) + 1;
}

/** Properties that hold at every instant on the files as they are. */
function atRest(ctx, where) {
  const jsonl = O.readJsonl(ctx.files.jsonl);
  const sqlite = O.readSqlite(ctx.files.sqlite);
  O.checkSqliteWithinJsonl(ctx.check, 'sqlite-within-jsonl', jsonl.bytes, sqlite, where);
  O.checkAckedPresent(ctx.check, ctx.acked, jsonl, undefined, where);
  checkTornEntries(ctx, jsonl.bytes, where);
}

/** Before an open or a heal: remember the tail it must move aside. */
function noteTornTail(ctx) {
  const j = O.readJsonl(ctx.files.jsonl);
  ctx.beforeOpen = j;
  if (j.cut === j.bytes.length) return;
  const bytes = Buffer.from(j.bytes.subarray(j.cut));
  if (!ctx.tornEntries.some((e) => e.offset === j.cut && e.bytes.equals(bytes))) ctx.tornEntries.push({ offset: j.cut, bytes, durable: false });
  checkTornEntries(ctx, j.bytes, 'before open: ');
}

/**
 * A tail once seen in events.jsonl is still there or in torn/. It may vanish only in a power cut
 * that came before it was durable anywhere.
 */
function checkTornEntries(ctx, jsonlBytes, where) {
  if (ctx.tornEntries.length === 0) return;
  const torn = O.readTorn(ctx.dir);
  const durable = ctx.disk.durableBytes(ctx.files.jsonl);
  const at = (buf, e) => buf.subarray(e.offset, e.offset + e.bytes.length).equals(e.bytes);
  ctx.tornEntries = ctx.tornEntries.filter((e) => {
    if (at(durable, e)) e.durable = true;
    if (at(jsonlBytes, e) || [...torn.values()].some((b) => b.equals(e.bytes))) return true;
    ctx.check.that('torn-moved-aside', !e.durable, () => `${where}a durable ${e.bytes.length}-byte tail at ${e.offset} is neither in events.jsonl nor in torn/`);
    return false;
  });
}

/** Bring the ledger back and check the after-reopen properties; returns the open writer. */
async function recover(ctx, seg, survivor) {
  let recovery = seg.recovery;
  if (recovery === 'survivor' && !survivor) recovery = 'open';
  if (survivor && recovery !== 'survivor') {
    await survivor.ledger.close();
    survivor = undefined;
  }
  if (recovery === 'survivor') {
    // Another writer crashed; this one heals in its lock on its next append (spec §13.2).
    ctx.trail.push('heal by survivor');
    noteTornTail(ctx);
    const before = ctx.beforeOpen;
    survivor.proc.arm(undefined);
    await Promise.all(appendAll(ctx, survivor, [{ kind: 'doc.edit', payload: 'after heal', explicitId: true }]));
    // The checks read ledger.db through their own connection: commit what the survivor holds.
    await survivor.ledger.flush();
    afterOpenChecks(ctx, before, 'after heal: ', true);
    await survivor.ledger.close();
  }
  if (recovery === 'replay' || recovery === 'rebuild') {
    if (recovery === 'rebuild') for (const s of ['', '-wal', '-shm']) fs.rmSync(ctx.files.sqlite + s, { force: true });
    const workers = seg.replayWorkers !== undefined && ctx.lib.dist ? { workers: seg.replayWorkers } : {};
    ctx.trail.push(workers.workers === undefined ? recovery : `${recovery} (${workers.workers} workers)`);
    if (workers.workers && recovery === 'rebuild') ctx.stats.workerReplays++;
    const report = await ctx.disk.observeSyncs(() => ctx.lib.replayJsonlIntoSqlite({ dir: ctx.dir }, { keyring: ctx.keyring, ...workers }));
    ctx.disk.committed(recovery);
    // Replay reports (never moves) a torn tail; with `holes` it may also report the refusal.
    const expected = ['TORN_LINE', 'MALFORMED_LINE', 'SEQ_GAP', 'CHAIN_BROKEN', 'SEAL_MISMATCH', ...(ctx.config.holes ? ['LEDGER_CORRUPT'] : [])];
    ctx.check.that('reopen-succeeds', report.errors.every((e) => expected.includes(e.code)),
      () => `replay reported ${JSON.stringify(report.errors)}`);
    atRest(ctx, `after ${recovery}: `);
  }
  for (const rc of seg.recoveryCrashes ?? []) {
    ctx.trail.push(`open with ${rc.plan.at === 'point' ? rc.plan.point : `io#${rc.plan.nth}`} (${rc.kind})`);
    const proc = newProcess(ctx, 'recover', planOf(rc));
    ctx.primary = ctx.other = undefined;
    const w = await openLedger(ctx, proc);
    if (w) {
      // The plan did not fire during open: a clean open after all.
      afterOpenChecks(ctx, ctx.beforeOpen, 'after open: ');
      await w.close();
      continue;
    }
    await afterCrash(ctx, rc);
  }
  const proc = newProcess(ctx, 'recover', undefined);
  ctx.primary = ctx.other = undefined;
  const w = await openLedger(ctx, proc);
  const before = ctx.beforeOpen;
  afterOpenChecks(ctx, before, 'after open: ');
  if (before.cut < before.bytes.length) ctx.stats.tornMoved++;
  if (before.completes) ctx.stats.tornCompleted++;
  await w.close();
  await checkClosedLedger(ctx);
  // Reopen for the next segment (this open must be a no-op: checked just above).
  const next = newProcess(ctx, 'next', undefined);
  const again = await openLedger(ctx, next);
  return again;
}

function afterOpenChecks(ctx, before, where, grown = false) {
  const jsonl = O.readJsonl(ctx.files.jsonl);
  const sqlite = O.readSqlite(ctx.files.sqlite);
  O.checkStoresEqual(ctx.check, jsonl, sqlite, where);
  O.checkAckedPresent(ctx.check, ctx.acked, jsonl, sqlite, where);
  O.checkTornMoved(ctx.check, before, jsonl.bytes, O.readTorn(ctx.dir), where, grown);
  checkTornEntries(ctx, jsonl.bytes, where);
  if (ctx.check.on('quarantine-kept')) {
    const ids = O.readQuarantineIds(ctx.dir);
    for (const id of ctx.quarantined) ctx.check.that('quarantine-kept', ids.has(id), () => `${where}quarantined event ${id} is not a readable line of quarantine.jsonl`, { id });
  }
}

/** verifyLedger is ok, and a second open replays nothing and changes nothing. */
async function checkClosedLedger(ctx) {
  const { check, lib } = ctx;
  if (check.on('verify-ok')) {
    const v = await lib.verifyLedger({ dir: ctx.dir }, { ...lib.verifyDefaults, keyring: ctx.keyring });
    check.that('verify-ok', v.ok, () => `verifyLedger after reopen: ${JSON.stringify({ problems: v.problems.slice(0, 3), tornTail: v.tornTail, parity: { ...v.parity, mismatches: v.parity.mismatches.slice(0, 3) } })}`);
  }
  if (check.on('reconcile-idempotent')) {
    const jsonlBefore = O.readBytes(ctx.files.jsonl);
    const rowsBefore = O.readSqlite(ctx.files.sqlite).rows;
    const proc = newProcess(ctx, 'idempotence', undefined);
    const w = await openLedger(ctx, proc);
    const r = w.ledger.lastReconcile;
    await w.close();
    check.that('reconcile-idempotent', r.replayed === 0 && r.restored.length === 0 && r.tornTail === undefined,
      () => `a second open replayed ${r.replayed}, restored ${r.restored.length}, moved ${r.tornTail ? r.tornTail.length : 0} torn bytes`);
    check.that('reconcile-idempotent', O.readBytes(ctx.files.jsonl).equals(jsonlBefore), 'a second open changed events.jsonl');
    const rowsAfter = O.readSqlite(ctx.files.sqlite).rows;
    check.that('reconcile-idempotent', JSON.stringify(rowsAfter) === JSON.stringify(rowsBefore), 'a second open changed ledger.db rows');
  }
}

// ---- workload ----

function toInput(ctx, item) {
  const n = ctx.nextId++;
  const input = { kind: item.kind, payload: item.payload, ...(item.actor === undefined ? {} : { actor: item.actor }) };
  if (item.explicitId) input.id = `e${n}`;
  if (input.id) ctx.attempted.push(input);
  return input;
}

/** Expected failures of an append that nothing crashed. */
function expectedCodes(input, extra = []) {
  const codes = [...extra];
  if (input.kind === 'q.hold') codes.push('POLICY_QUARANTINED');
  if (input.kind === 'r.no') codes.push('POLICY_REJECTED');
  return codes;
}

function settle(ctx, w, promise, inputs, options = {}) {
  return promise.then(
    (events) => {
      for (const ev of Array.isArray(events) ? events : [events]) {
        const prior = ctx.acked.get(ev.id);
        ctx.check.that('acked-present', !prior || (prior.seq === ev.seq && prior.hash === ev.hash),
          () => `id ${ev.id} was acknowledged at seq ${prior.seq} and now at seq ${ev.seq}`);
        ctx.acked.set(ev.id, { seq: ev.seq, id: ev.id, hash: ev.hash });
        ctx.stats.acked++;
      }
    },
    (e) => {
      rethrowViolation(ctx, e);
      if (!w.proc.alive || e instanceof ctx.lib.SimulatedCrash) return;
      const allowed = inputs.flatMap((i) => expectedCodes(i, options.codes));
      if (e?.code === 'POLICY_QUARANTINED' && typeof e.details?.id === 'string') ctx.quarantined.add(e.details.id);
      ctx.check.that('no-unexpected-error', allowed.includes(e?.code), () => `append failed unexpectedly: ${O.describeError(e)}`);
    },
  );
}

function appendAll(ctx, w, items, options = {}) {
  return items.map((item) => {
    const input = item.kind ? (item.input ?? toInput(ctx, item)) : item;
    // Quarantined events need an id to be found again in quarantine.jsonl.
    if (input.kind === 'q.hold' && !input.id) input.id = `q${ctx.nextId++}`;
    let p;
    try {
      p = w.ledger.append(input, options.append);
    } catch (e) {
      p = Promise.reject(e);
    }
    return settle(ctx, w, p, [input], options);
  });
}

function appendBatch(ctx, w, items) {
  const inputs = items.map((i) => toInput(ctx, i));
  // Signed batches of 64+ events go to the signing threads (spec §13.8).
  if (ctx.signed && inputs.length >= 64) ctx.stats.signedLargeBatches++;
  let p;
  try {
    p = w.ledger.appendBatch(inputs);
  } catch (e) {
    p = Promise.reject(e);
  }
  // A batch is all-or-nothing: one quarantined or rejected item fails it (spec §13.1).
  return settle(ctx, w, p, inputs);
}

async function ensureOther(ctx) {
  if (ctx.other) return ctx.other;
  const proc = newProcess(ctx, 'other', ctx.otherPlan);
  const w = await openLedger(ctx, proc);
  if (!w) return undefined;
  armWorker(ctx, w, ctx.otherPlan);
  ctx.other = w;
  return w;
}

/** Close a writer; false when it died doing so (a simulated crash at its final commit). */
async function closeOrDie(ctx, w) {
  try {
    await w.ledger.close();
    return true;
  } catch (e) {
    if (e instanceof ctx.lib.SimulatedCrash && !w.proc.alive) return false;
    throw e;
  }
}

async function runOp(ctx, op) {
  const p = ctx.primary;
  switch (op.t) {
    case 'append':
      await Promise.all(appendAll(ctx, p, op.items));
      return;
    case 'batch':
      await appendBatch(ctx, p, op.items);
      return;
    case 'mixed': {
      const head = p.ledger.headInfo().seq;
      const all = [
        ...appendAll(ctx, p, op.items.slice(0, -1)),
        appendBatch(ctx, p, op.batch),
        ...(op.expectedSeqOffset === undefined ? appendAll(ctx, p, op.items.slice(-1))
          : appendAll(ctx, p, op.items.slice(-1), { append: { expectedSeq: Math.max(-1, head + op.expectedSeqOffset) }, codes: ['SEQ_CONFLICT'] })),
      ];
      await Promise.all(all);
      return;
    }
    case 'other': {
      const o = await ensureOther(ctx);
      if (!o) return; // died while opening
      await Promise.all([...appendAll(ctx, o, op.items), ...appendAll(ctx, p, op.mine)]);
      return;
    }
    case 'retry': {
      // A client retries appends it sent before (acknowledged or not): same id, same content.
      if (ctx.attempted.length === 0) return;
      const picks = Array.from({ length: op.n }, (_, i) => ctx.attempted[(op.pick + i * 7) % ctx.attempted.length]);
      await Promise.all(picks.flatMap((input) => appendAll(ctx, p, [{ ...input, input }])));
      return;
    }
    case 'reopen': {
      // close() commits rows the writer still holds, so the plan may fire there (spec §13.7);
      // a writer that dies closing stays in place for afterCrash, its peer still open.
      if (ctx.other) {
        if (!(await closeOrDie(ctx, ctx.other))) return;
        ctx.other = undefined;
      }
      if (!(await closeOrDie(ctx, p))) return;
      // The armed plan (and its counters) moves with the process.
      const w = await openLedger(ctx, p.proc);
      if (!w) {
        ctx.primary = undefined;
        return;
      }
      afterOpenChecks(ctx, ctx.beforeOpen, 'after reopen: ');
      ctx.primary = w;
      return;
    }
    case 'checkpoint': {
      const before = appendAll(ctx, p, op.before);
      let cp;
      try {
        cp = p.ledger.checkpoint(ctx.key);
      } catch (e) {
        cp = Promise.reject(e);
      }
      const signed = cp.then(
        () => void ctx.stats.checkpoints++,
        (e) => {
          rethrowViolation(ctx, e);
          if (!p.proc.alive || e instanceof ctx.lib.SimulatedCrash) return;
          ctx.check.that('no-unexpected-error', false, () => `checkpoint failed unexpectedly: ${O.describeError(e)}`);
        },
      );
      await Promise.all([...before, signed, ...appendAll(ctx, p, op.after)]);
      return;
    }
    case 'replay': {
      const r = await ctx.disk.observeSyncs(() => ctx.lib.replayJsonlIntoSqlite({ dir: ctx.dir }, { keyring: ctx.keyring }));
      ctx.disk.committed('replay');
      // Replay waited for the writer's lock, which the writer gave up by committing what it held;
      // a writer that died doing so left those rows to replay.
      if (!p.proc.alive) return;
      ctx.check.that('stores-equal', r.inserted === 0 && r.errors.length === 0, () => `replay of an open, idle ledger inserted ${r.inserted}: ${JSON.stringify(r.errors)}`);
      return;
    }
    default:
      throw new Error(`unknown op ${op.t}`);
  }
}

async function closeAll(ctx) {
  for (const w of ctx.opened) if (ctx.lib.ledgerState(w.ledger) === 'open') await w.ledger.close();
}

/** After a failure: release everything without judging. */
async function abandon(ctx) {
  for (const w of ctx.opened) {
    try {
      if (ctx.lib.ledgerState(w.ledger) === 'open') ctx.lib.simulateProcessDeath(w.ledger);
    } catch {
      // already gone
    }
    w.proc.closeLeftovers();
  }
}
