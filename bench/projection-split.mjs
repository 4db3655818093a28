// Measure before building: does moving the SQLite projection to a worker thread pay on this
// machine? These writers append the same events, alternating in one run, each into a fresh folder:
//   ledger  today's Ledger (one thread: seal, write, fdatasync, rows, Merkle nodes, commit)
//   inline  this prototype with the projection on the appending thread (the control: it must come
//           out close to `ledger`, or the prototype leaves out work the real path does)
//   overlap this prototype on one thread, the fdatasync on the libuv pool while the appending
//           thread inserts the same lines' rows into the held transaction (commit after it returns)
//   worker  this prototype with the projection on a worker thread (own connection to ledger.db,
//           the real Projection's prepared statements), fed each batch after its fdatasync;
//           the appending thread holds the writer lock as BEGIN IMMEDIATE on a separate lock.db
//           until the worker has committed everything, and waits when the worker lags by more
//           than --lag events
//   worker-bytes  the same, but each batch goes over as the written bytes (transferred), line
//           lengths and one string of the short columns, instead of a structured clone of every field
// and Hypercore 11 appends 1,000-entry batches (the target baseline) in the same reps.
// Reported: events/s, CPU µs per event of the appending thread, of the worker thread and of the
// whole process, each thread's run-queue wait (CPU contention), the appending thread's fdatasync
// wait, a free-core bound (1 / the slower stage: a model, not a measurement) and the load
// average; medians of the kept repetitions.
//   npm run build && node bench/projection-split.mjs [--quick] [--rows batch,concurrent] [--variants ledger,inline,overlap,worker,worker-bytes]
//     [--lag 4096] [--reps 5] [--warm 5000]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { Ledger } from '../dist/index.js';
import { NODE_FILE_IO } from '../dist/testing.js';
import { prepareEvent, sealPrepared } from '../dist/format/seal.js';
import { CompactRange } from '../dist/merkle/compact-range.js';
import { Projection } from '../dist/store/projection.js';
import { GENESIS_PREV } from '../dist/format/event.js';
import { hypercoreBatches } from './lib/baselines.mjs';
import { batchOf, eventInput } from './lib/events.mjs';
import { median } from './lib/measure.mjs';
import { threadSched } from './lib/thread-sched.mjs';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const quick = args.includes('--quick');
const rows = arg('rows', 'batch,concurrent').split(',');
const maxLag = Number(arg('lag', '4096'));
const reps = Number(arg('reps', quick ? '3' : '5'));
const warmup = 1;
const EVENTS = quick ? 5000 : 20_000;
const WARM = Number(arg('warm', quick ? '1000' : '5000'));
const variants = arg('variants', 'ledger,inline,overlap,worker,worker-bytes').split(',');

/** Wall time the appending thread spends blocked in fdatasync, in ns. */
const fsyncClock = { ns: 0 };
const timedSync = (fn) => {
  const t = process.hrtime.bigint();
  fn();
  fsyncClock.ns += Number(process.hrtime.bigint() - t);
};
const COUNTING_IO = { ...NODE_FILE_IO, sync: (fd) => timedSync(() => NODE_FILE_IO.sync(fd)) };
const load = () => os.loadavg()[0];

/**
 * The append path reduced to its per-event work: input checks and payload JCS, seal, one
 * pwrite + fdatasync per group, then the projection (rows, Merkle nodes, watermark, commit)
 * inline or on the worker. Group commit as in the library: appends waiting when a flush starts
 * share it.
 */
class ProtoWriter {
  static async open(dir, mode) {
    fs.mkdirSync(dir, { recursive: true });
    const dbPath = path.join(dir, 'ledger.db');
    const projection = await Projection.open(dbPath, { create: true });
    const w = new ProtoWriter(dir, mode, projection, dbPath);
    if (mode.startsWith('worker')) {
      w.lockDb = new Database(path.join(dir, 'lock.db'));
      w.lockDb.pragma('journal_mode = WAL');
      w.lockDb.exec('CREATE TABLE IF NOT EXISTS writer (id INTEGER PRIMARY KEY)');
      w.worker = new Worker(new URL('./lib/projection-worker-proto.mjs', import.meta.url), { workerData: { dbPath } });
      w.worker.on('message', (m) => w.onWorker(m));
      w.worker.on('error', (e) => w.fail(e));
    }
    return w;
  }

  constructor(dir, mode, projection, dbPath) {
    this.mode = mode;
    this.projection = projection;
    this.dbPath = dbPath;
    this.fd = fs.openSync(path.join(dir, 'events.jsonl'), 'a+');
    this.head = { seq: -1, hash: GENESIS_PREV, offset: 0 };
    this.frontier = CompactRange.empty();
    this.queue = [];
    this.scheduled = false;
    this.running = false;
    this.lockHeld = false;
    this.heldSince = undefined;
    this.acked = -1;
    this.waiters = [];
    this.error = undefined;
  }

  append(input) {
    return this.enqueue([prepareEvent(input)]).then((es) => es[0]);
  }

  appendBatch(inputs) {
    return this.enqueue(inputs.map((i) => prepareEvent(i)));
  }

  enqueue(prepared) {
    return new Promise((resolve, reject) => {
      this.queue.push({ prepared, resolve, reject });
      if (!this.scheduled && !this.running) {
        this.scheduled = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  async drain() {
    this.scheduled = false;
    this.running = true;
    while (this.queue.length > 0) {
      const reqs = this.queue;
      this.queue = [];
      try {
        await this.flush(reqs);
      } catch (e) {
        for (const r of reqs) r.reject(e);
      }
    }
    this.running = false;
    setImmediate(() => void this.releaseIfIdle());
  }

  async flush(reqs) {
    if (this.error) throw this.error;
    if (!this.lockHeld) {
      if (this.mode.startsWith('worker')) this.lockDb.exec('BEGIN IMMEDIATE');
      else this.projection.beginImmediate();
      this.lockHeld = true;
      this.heldSince = performance.now();
    }
    fs.fstatSync(this.fd); // the library's heal-in-lock check reads the file's size
    const recs = [];
    const out = [];
    let { seq, hash } = this.head;
    for (const r of reqs) {
      const events = [];
      for (const p of r.prepared) {
        const rec = sealPrepared(p, seq + 1, hash);
        recs.push(rec);
        events.push(rec.event);
        seq = rec.event.seq;
        hash = rec.event.hash;
      }
      out.push(events);
    }
    const text = recs.length === 1 ? recs[0].line + '\n' : recs.map((r) => r.line).join('\n') + '\n';
    const data = Buffer.from(text, 'utf8');
    fs.writeSync(this.fd, data, 0, data.length, this.head.offset);
    let offset = this.head.offset;
    if (this.mode === 'overlap') {
      // fdatasync on the libuv pool while this thread inserts the same lines' rows into the held
      // transaction; the transaction cannot commit before the fsync has returned (I1).
      const synced = new Promise((resolve, reject) => fs.fdatasync(this.fd, (e) => (e ? reject(e) : resolve())));
      let last;
      for (const rec of recs) last = this.projection.mirror(rec, last?.offset ?? offset, this.frontier);
      this.projection.setWatermark(last);
      const t = process.hrtime.bigint();
      await synced;
      fsyncClock.ns += Number(process.hrtime.bigint() - t); // only the part not hidden behind the rows
      this.head = { seq, hash, offset: last.offset };
      if (performance.now() - this.heldSince >= 5) this.release();
      reqs.forEach((r, i) => r.resolve(out[i]));
      return;
    }
    timedSync(() => fs.fdatasyncSync(this.fd));
    if (this.mode === 'worker-bytes') {
      // The bytes just written (transferred, not cloned), each line's length, and the short
      // columns in one string: the worker cuts the lines out of the bytes.
      const lens = new Uint32Array(recs.length);
      const meta = recs.map((rec, i) => {
        const e = rec.event;
        lens[i] = Buffer.byteLength(rec.line, 'utf8') + 1;
        return `${e.id}\u0000${e.at}\u0000${e.kind}\u0000${e.actor ?? ''}\u0000${e.hash}`;
      }).join('\u0001');
      const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
      const bytes = own ? data : Uint8Array.prototype.slice.call(data);
      const start = offset;
      for (const n of lens) offset += n;
      this.worker.postMessage({ type: 'bytes', bytes, lens, meta, firstSeq: recs[0].event.seq, offset: start }, [bytes.buffer, lens.buffer]);
      this.head = { seq, hash, offset };
      if (seq - this.acked > maxLag) await this.projected(seq - maxLag);
    } else if (this.mode === 'worker') {
      const flat = new Array(recs.length * 9);
      let k = 0;
      for (const rec of recs) {
        const e = rec.event;
        flat[k++] = e.seq; flat[k++] = e.id; flat[k++] = e.at; flat[k++] = e.kind; flat[k++] = e.actor ?? null;
        flat[k++] = e.hash; flat[k++] = null; flat[k++] = rec.line; flat[k++] = offset;
        offset += Buffer.byteLength(rec.line, 'utf8') + 1;
      }
      this.worker.postMessage({ type: 'batch', flat });
      this.head = { seq, hash, offset };
      // Back-pressure: acknowledge only while the worker is within `maxLag` events.
      if (seq - this.acked > maxLag) await this.projected(seq - maxLag);
    } else {
      let last;
      for (const rec of recs) last = this.projection.mirror(rec, last?.offset ?? offset, this.frontier);
      this.projection.setWatermark(last);
      this.head = { seq, hash, offset: last.offset };
      // Today's rule (spec §13.7): commit after projectionLagMs (5) or when idle.
      if (performance.now() - this.heldSince >= 5) this.release();
    }
    reqs.forEach((r, i) => r.resolve(out[i]));
  }

  release() {
    if (!this.lockHeld) return;
    if (this.mode.startsWith('worker')) this.lockDb.exec('COMMIT');
    else this.projection.commit();
    this.lockHeld = false;
  }

  async releaseIfIdle() {
    if (this.running || this.scheduled || this.queue.length) return;
    if (this.mode.startsWith('worker')) {
      // The lock outlives the JSONL write until the worker has committed it (I1 across writers).
      await this.projected(this.head.seq);
      if (this.running || this.scheduled || this.queue.length) return;
    }
    this.release();
  }

  projected(seq) {
    if (this.acked >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  onWorker(m) {
    if (m.type === 'ack') {
      this.acked = m.seq;
      this.waiters = this.waiters.filter((w) => (w.seq <= m.seq ? (w.resolve(), false) : true));
    } else if (m.type === 'cpu') {
      this.cpuReply?.(m.sched);
    }
  }

  fail(e) {
    this.error = e;
    for (const w of this.waiters) w.reject(e);
    this.waiters = [];
  }

  async idle() {
    while (this.running || this.scheduled || this.queue.length) await new Promise((r) => setImmediate(r));
    if (this.mode.startsWith('worker')) await this.projected(this.head.seq);
  }

  async workerSched() {
    return new Promise((resolve) => {
      this.cpuReply = resolve;
      this.worker.postMessage({ type: 'cpu' });
    });
  }

  async close() {
    await this.idle();
    this.release();
    if (this.worker) await this.worker.terminate();
    this.lockDb?.close();
    await this.projection.close();
    fs.closeSync(this.fd);
  }

  /** Rows in ledger.db, seq range and the watermark: every event reached SQLite, in order. */
  check(expected) {
    const db = new Database(this.dbPath, { readonly: true });
    const r = db.prepare('SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM events').get();
    const w = db.prepare('SELECT seq FROM watermark').get();
    db.close();
    if (r.n !== expected || r.lo !== 0 || r.hi !== expected - 1 || w.seq !== expected - 1) {
      throw new Error(`projection holds ${JSON.stringify(r)} watermark ${w.seq}, expected ${expected} events`);
    }
  }
}

async function openWriter(variant, dir) {
  if (variant === 'ledger') return Ledger.open({ dir, create: true, io: COUNTING_IO });
  return ProtoWriter.open(dir, variant);
}

const WORKLOADS = {
  batch: async (w, start) => {
    for (let b = 0; b < EVENTS / 1000; b++) await w.appendBatch(batchOf(1000, start + b * 1000));
  },
  concurrent: async (w, start) => {
    let k = 0;
    const appender = async () => {
      while (k < EVENTS) await w.append(eventInput(start + k++));
    };
    await Promise.all(Array.from({ length: 256 }, appender));
  },
};

async function measureVariant(variant, row, root) {
  const dir = fs.mkdtempSync(path.join(root, `${variant}-`));
  const w = await openWriter(variant, dir);
  try {
    // Warm-up, not timed: a new worker's isolate compiles its hot path from cold.
    for (let i = 0; i < WARM; i += 1000) await w.appendBatch(batchOf(1000, 10_000_000 + i));
    if (w.idle) await w.idle();
    else await w.flush();
    const l0 = load();
    const main0 = threadSched();
    const worker0 = variant.startsWith('worker') ? await w.workerSched() : [0, 0];
    const fsync0 = fsyncClock.ns;
    const proc0 = process.cpuUsage();
    const t0 = performance.now();
    await WORKLOADS[row](w, 0);
    // Acknowledged is the figure; the worker's tail is drained after the clock stops, but its
    // CPU is counted.
    const wallMs = performance.now() - t0;
    await (w.idle ? w.idle() : w.flush());
    const fsyncUs = (fsyncClock.ns - fsync0) / 1000 / EVENTS;
    const main1 = threadSched();
    const worker1 = variant.startsWith('worker') ? await w.workerSched() : [0, 0];
    const per = (a, b, k) => (b[k] - a[k]) / 1000 / EVENTS;
    const [mainUs, mainWaitUs, workerUs, workerWaitUs] = [per(main0, main1, 0), per(main0, main1, 1), per(worker0, worker1, 0), per(worker0, worker1, 1)];
    const p = process.cpuUsage(proc0);
    const procUs = (p.user + p.system) / EVENTS;
    return { rate: EVENTS / (wallMs / 1000), mainUs, mainWaitUs, workerUs, workerWaitUs, fsyncUs, procUs, load: l0 };
  } finally {
    if (w instanceof ProtoWriter) {
      await w.close();
      w.check(EVENTS + WARM);
    } else {
      await w.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-split-'));
const fmt = (x, d = 1) => x.toFixed(d);
try {
  console.log(`projection split prototype: ${EVENTS} events per repetition, ${reps} kept + ${warmup} warm-up, lag bound ${maxLag} events, ${WARM} warm-up events per writer, ` +
    `node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const row of rows) {
    const samples = Object.fromEntries([...variants, 'hypercore'].map((v) => [v, []]));
    for (let i = 0; i < warmup + reps; i++) {
      // Alternate the order so no variant always runs first after the previous one's writeback.
      const order = [...variants, 'hypercore'];
      for (let r = 0; r < i % order.length; r++) order.push(order.shift());
      for (const v of order) {
        let s;
        if (v === 'hypercore') {
          const l0 = load();
          const c0 = process.cpuUsage();
          const n = EVENTS / 1000;
          const x = await hypercoreBatches(path.join(root, 'hypercore'), n, 372);
          const c = process.cpuUsage(c0);
          s = { rate: x, mainUs: NaN, mainWaitUs: NaN, workerUs: NaN, workerWaitUs: NaN, fsyncUs: NaN, procUs: (c.user + c.system) / (n * 1000), load: l0 };
        } else {
          s = await measureVariant(v, row, root);
        }
        if (i >= warmup) samples[v].push(s);
        process.stderr.write(`${row} rep ${i}${i < warmup ? ' (warm-up)' : ''} ${v}: ${Math.round(s.rate)} events/s, main ${fmt(s.mainUs)} (+${fmt(s.mainWaitUs)} queued, ${fmt(s.fsyncUs)} fsync) worker ${fmt(s.workerUs)} (+${fmt(s.workerWaitUs)} queued) process ${fmt(s.procUs)} µs/event, load ${fmt(s.load, 2)}\n`);
      }
    }
    const med = (v, k) => median(samples[v].map((s) => s[k]));
    const base = med(variants.includes('ledger') ? 'ledger' : variants[0], 'rate');
    const hc = med('hypercore', 'rate');
    const loads = Object.values(samples).flat().map((s) => s.load);
    console.log(`\n${row === 'batch' ? 'appendBatch(1000)' : '256 concurrent appenders'}, unsigned, durable ` +
      `(load during the reps ${fmt(Math.min(...loads), 2)}–${fmt(Math.max(...loads), 2)})`);
    console.log(`| writer | events/s | vs ${variants.includes('ledger') ? 'ledger' : variants[0]} |`+' vs Hypercore | appending thread CPU | its run-queue wait | its fdatasync wait | worker CPU | worker run-queue wait | process CPU | free-core bound | load (median) |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const v of [...variants, 'hypercore']) {
      const r = med(v, 'rate');
      const us = (k) => (v === 'hypercore' || (!v.startsWith('worker') && k.startsWith('worker')) ? '—' : `${fmt(med(v, k))} µs`);
      // With a core to each thread and no run-queue wait: the slower stage sets the rate.
      const bound = v === 'hypercore' ? NaN : 1e6 / Math.max(med(v, 'mainUs') + med(v, 'fsyncUs'), v.startsWith('worker') ? med(v, 'workerUs') : 0);
      console.log(`| ${v} | ${Math.round(r).toLocaleString('en-US')} | ${fmt(r / base, 2)}x | ${fmt(r / hc, 2)}x | ${us('mainUs')} | ${us('mainWaitUs')} | ${us('fsyncUs')} | ` +
        `${us('workerUs')} | ${us('workerWaitUs')} | ${fmt(med(v, 'procUs'))} µs | ${v === 'hypercore' ? '—' : Math.round(bound).toLocaleString('en-US') + '/s'} | ${fmt(med(v, 'load'), 2)} |`);
    }
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
