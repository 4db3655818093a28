// Signing off the appending thread (issue 17, spec §13.8). Signed appendBatch(1000) by these
// writers, alternating in one run, each into a fresh folder:
//   ledger   today's Ledger with a signer and its default signingThreads
//   library-inline   the Ledger with signingThreads: 0 (every signature on the appending thread)
//   ledger-worker   `ledger` with the projection on a worker thread (spec §13.9, ADR 0030)
//   library-threads  the Ledger with its default signingThreads (one per core beyond the first);
//            the pair measures the library's own signing threads against inline signing
//   inline   this prototype signing on the appending thread (the control)
//   workers  this prototype with signing shared: the appending thread seals and publishes the
//            hashes chunk by chunk (50 events) in shared memory while --workers signing threads
//            claim and sign them; once it has sealed the batch it claims and signs chunks too,
//            then waits for the rest, encodes the signed lines, writes, fdatasyncs and projects
//   offload  the same, but the appending thread signs nothing itself (so its CPU is the
//            unsigned path plus the hand-off)
// Since ADR 0039 the library shares chunks as `workers` does (in chunks of 16, waiting for the
// last ones without blocking its event loop); `offload` was the library's way before.
// next to the issue's baseline, the node:crypto Ed25519 sign loop on one core (target >= 0.7x).
// Reported: events/s, CPU µs per event of the appending thread, of the signing threads and of
// the process, run-queue wait, the load average; medians of the kept repetitions.
// Ratios are against `ledger`, or `library-inline` when `ledger` is not run.
//   npm run build && node bench/sign-split.mjs [--quick] [--workers 1] [--reps 5] [--variants ledger,inline,workers,offload]
//   npm run build && node bench/sign-split.mjs --variants library-inline,library-threads --reps 9
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Ledger, signingKeyFromSeed } from '../dist/index.js';
import { writerOf } from '../dist/ledger/ledger.js';
import { privateKeyObjectFromSeed, publicKeyFromSeed } from '../dist/crypto/ed25519.js';
import { parseEventLine } from '../dist/format/event-line.js';
import { GENESIS_PREV } from '../dist/format/event.js';
import { prepareEvent, sealPrepared, verifyEventSeal, withSignature } from '../dist/format/seal.js';
import { signatureFor, verifyEventSignature } from '../dist/format/signature.js';
import { CompactRange } from '../dist/merkle/compact-range.js';
import { Projection } from '../dist/store/projection.js';
import { SignPool } from '../dist/ledger/sign-pool.js';
import { ed25519Material, nodeSignLoop } from './lib/baselines.mjs';
import { batchOf } from './lib/events.mjs';
import { median } from './lib/measure.mjs';
import { awaitDone, CHUNK, publish, sharedBuffers, signatureAt, signChunks, STOP } from './lib/sign-chunks.mjs';
import { threadSched } from './lib/thread-sched.mjs';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const quick = args.includes('--quick');
const reps = Number(arg('reps', quick ? '3' : '5'));
const workerCount = Number(arg('workers', '1'));
const variants = arg('variants', 'ledger,inline,workers,offload').split(',');
const EVENTS = quick ? 3000 : 10_000;
const WARM = Number(arg('warm', quick ? '1000' : '3000'));
const SIGN_LOOP = quick ? 2000 : 10_000;
const warmup = 1;

const load = () => os.loadavg()[0];

/** The signed append path of one appendBatch, with the signing inline or shared with workers. */
class SignProto {
  static async open(dir, mode, seed) {
    fs.mkdirSync(dir, { recursive: true });
    const projection = await Projection.open(path.join(dir, 'ledger.db'), { create: true });
    const p = new SignProto(dir, mode, projection, seed);
    if (mode === 'workers' || mode === 'offload') {
      p.shared = sharedBuffers();
      p.key = privateKeyObjectFromSeed(seed);
      p.workers = Array.from({ length: workerCount }, () => {
        const w = new Worker(new URL('./lib/sign-worker-proto.mjs', import.meta.url), { workerData: { key: p.key, shared: p.shared } });
        w.on('error', (e) => {
          p.error = e;
        });
        return w;
      });
    }
    return p;
  }

  constructor(dir, mode, projection, seed) {
    this.mode = mode;
    this.projection = projection;
    this.signer = signingKeyFromSeed(seed);
    this.fd = fs.openSync(path.join(dir, 'events.jsonl'), 'a+');
    this.head = { seq: -1, hash: GENESIS_PREV, offset: 0 };
    this.frontier = CompactRange.empty();
    this.chunk = 0; // chunks published so far (ever-growing)
  }

  async appendBatch(inputs) {
    if (this.error) throw this.error;
    const prepared = inputs.map((i) => prepareEvent(i));
    this.projection.beginImmediate();
    fs.fstatSync(this.fd);
    let { seq, hash } = this.head;
    let recs = [];
    const first = this.chunk;
    let pending = [];
    for (const p of prepared) {
      let rec = sealPrepared(p, seq + 1, hash);
      seq = rec.event.seq;
      hash = rec.event.hash;
      if (this.mode === 'inline') rec = withSignature(rec, signatureFor(rec.hash, this.signer));
      else if (pending.push(rec) === CHUNK) {
        publish(this.shared, this.chunk++, pending);
        pending = [];
      }
      recs.push(rec);
    }
    if (this.mode !== 'inline') {
      if (pending.length) publish(this.shared, this.chunk++, pending);
      if (this.mode === 'workers') signChunks(this.shared, this.key, crypto); // help with what the workers have not claimed
      awaitDone(this.shared, this.chunk);
      const kid = this.signer.kid;
      recs = recs.map((rec, i) => {
        const c = first + Math.floor(i / CHUNK);
        const value = signatureAt(this.shared, c, i % CHUNK).toString('base64');
        return withSignature(rec, { kid, alg: 'ed25519', value });
      });
    }
    const data = Buffer.from(recs.map((r) => r.line).join('\n') + '\n', 'utf8');
    fs.writeSync(this.fd, data, 0, data.length, this.head.offset);
    fs.fdatasyncSync(this.fd);
    let last;
    for (const rec of recs) last = this.projection.mirror(rec, last?.offset ?? this.head.offset, this.frontier);
    this.projection.setWatermark(last);
    this.projection.commit();
    this.head = { seq, hash, offset: last.offset };
    return recs.map((r) => r.event);
  }

  async workerSched() {
    if (!this.workers) return [0, 0];
    const all = await Promise.all(
      this.workers.map((w) => new Promise((resolve) => {
        const on = (m) => {
          if (m.type !== 'sched') return;
          w.off('message', on);
          resolve(m.sched);
        };
        w.on('message', on);
        w.postMessage({ type: 'sched' });
      })),
    );
    return all.reduce((a, b) => [a[0] + b[0], a[1] + b[1]], [0, 0]);
  }

  async close() {
    if (this.workers) {
      Atomics.store(new Int32Array(this.shared.ctl), STOP, 1);
      Atomics.notify(new Int32Array(this.shared.ctl), 0);
      await Promise.all(this.workers.map((w) => w.terminate()));
    }
    await this.projection.close();
    fs.closeSync(this.fd);
  }
}

async function measure(variant, root) {
  const dir = fs.mkdtempSync(path.join(root, `${variant}-`));
  const seed = crypto.randomBytes(32);
  const library = { ledger: undefined, 'ledger-worker': undefined, 'library-inline': 0, 'library-threads': undefined };
  const w = variant in library
    ? await Ledger.open({ dir, create: true, signer: signingKeyFromSeed(seed), signingThreads: library[variant], projectionWorker: variant === 'ledger-worker' })
    : await SignProto.open(dir, variant, seed);
  try {
    for (let i = 0; i < WARM; i += 1000) await w.appendBatch(batchOf(1000, 10_000_000 + i));
    const batches = Array.from({ length: EVENTS / 1000 }, (_, b) => batchOf(1000, b * 1000));
    const l0 = load();
    const m0 = threadSched();
    const w0 = w.workerSched ? await w.workerSched() : [0, 0];
    const p0 = process.cpuUsage();
    const t0 = performance.now();
    let lastEvent;
    for (const b of batches) lastEvent = (await w.appendBatch(b)).at(-1);
    // Every event projected and committed, not only acknowledged (the worker's lag bound would
    // otherwise let a whole repetition be acknowledged before the worker had projected it).
    if (variant in library) await w.flush();
    const wallMs = performance.now() - t0;
    const m1 = threadSched();
    const w1 = w.workerSched ? await w.workerSched() : [0, 0];
    const p = process.cpuUsage(p0);
    if (!lastEvent.sig || lastEvent.seq !== WARM + EVENTS - 1) throw new Error(`${variant}: last event ${JSON.stringify(lastEvent)}`);
    if (variant in library) {
      // The pair must measure what it names: threads used exactly when the variant has them.
      const pool = writerOf(w).signPool;
      if (variant === 'library-inline' ? pool.posted !== 0 : pool.size > 0 && pool.posted === 0) {
        throw new Error(`${variant}: ${pool.posted} jobs went to ${pool.size} signing threads`);
      }
    }
    const per = (a, b, k) => (b[k] - a[k]) / 1000 / EVENTS;
    return {
      rate: EVENTS / (wallMs / 1000), mainUs: per(m0, m1, 0), mainWaitUs: per(m0, m1, 1),
      workerUs: per(w0, w1, 0), workerWaitUs: per(w0, w1, 1), procUs: (p.user + p.system) / EVENTS, load: l0,
    };
  } finally {
    await w.close();
    verifySignedLedger(dir, seed);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The prototype's lines are well-sealed and signed by the key: every 97th line and the last. */
function verifySignedLedger(dir, seed) {
  const lines = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trimEnd().split('\n');
  if (lines.length !== WARM + EVENTS) throw new Error(`${dir}: ${lines.length} lines`);
  const publicKey = publicKeyFromSeed(seed);
  for (let i = 0; i < lines.length; i += i === lines.length - 1 ? 1 : Math.min(97, lines.length - 1 - i)) {
    const { event } = parseEventLine(lines[i]);
    verifyEventSeal(event);
    verifyEventSignature(event, publicKey);
  }
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-sign-split-'));
const fmt = (x, d = 1) => x.toFixed(d);
try {
  const material = ed25519Material();
  console.log(`sign split prototype: signed appendBatch(1000), ${EVENTS} events per repetition, ${reps} kept + ${warmup} warm-up, ` +
    `${workerCount} prototype signing worker(s), library default signingThreads ${SignPool.defaultSize()}, node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const samples = Object.fromEntries([...variants, 'sign loop'].map((v) => [v, []]));
  for (let i = 0; i < warmup + reps; i++) {
    const order = [...variants, 'sign loop'];
    for (let r = 0; r < i % order.length; r++) order.push(order.shift());
    for (const v of order) {
      let s;
      if (v === 'sign loop') {
        const l0 = load();
        const m0 = threadSched();
        const x = await nodeSignLoop(material, SIGN_LOOP);
        const m1 = threadSched();
        s = { rate: x, mainUs: (m1[0] - m0[0]) / 1000 / SIGN_LOOP, mainWaitUs: (m1[1] - m0[1]) / 1000 / SIGN_LOOP, workerUs: 0, workerWaitUs: 0, procUs: NaN, load: l0 };
      } else {
        s = await measure(v, root);
      }
      if (i >= warmup) samples[v].push(s);
      process.stderr.write(`rep ${i}${i < warmup ? ' (warm-up)' : ''} ${v}: ${Math.round(s.rate)} events/s, main ${fmt(s.mainUs)} (+${fmt(s.mainWaitUs)} queued) ` +
        `workers ${fmt(s.workerUs)} (+${fmt(s.workerWaitUs)} queued) process ${fmt(s.procUs)} µs/event, load ${fmt(s.load, 2)}\n`);
    }
  }
  const med = (v, k) => median(samples[v].map((s) => s[k]));
  const baseName = variants.includes('ledger') ? 'ledger' : variants.includes('library-inline') ? 'library-inline' : variants[0];
  const base = med(baseName, 'rate');
  const loop = med('sign loop', 'rate');
  const loads = Object.values(samples).flat().map((s) => s.load);
  console.log(`\nload during the reps ${fmt(Math.min(...loads), 2)}–${fmt(Math.max(...loads), 2)}`);
  console.log(`| writer | events/s | vs ${baseName} | vs sign loop | appending thread CPU | its run-queue wait | prototype signing workers CPU | their run-queue wait | process CPU | other threads (process − appending) | load (median) |`);
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const v of [...variants, 'sign loop']) {
    const r = med(v, 'rate');
    const us = (k) => `${fmt(med(v, k))} µs`;
    console.log(`| ${v} | ${Math.round(r).toLocaleString('en-US')} | ${fmt(r / base, 2)}x | ${fmt(r / loop, 2)}x | ${us('mainUs')} | ${us('mainWaitUs')} | ` +
      `${v === 'workers' || v === 'offload' ? us('workerUs') : '—'} | ${v === 'workers' || v === 'offload' ? us('workerWaitUs') : '—'} | ${v === 'sign loop' ? '—' : us('procUs')} | ${v === 'sign loop' ? '—' : `${fmt(med(v, 'procUs') - med(v, 'mainUs'))} µs`} | ${fmt(med(v, 'load'), 2)} |`);
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
