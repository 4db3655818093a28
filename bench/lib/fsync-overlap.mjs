// A probe beside the single-append rows: could the append's own work hide behind its fdatasync?
// Raw loops of write one line + fdatasync + `workUs` of CPU work, in three orders: inline (the
// work after the fdatasync, as the ledger does it), and overlapped, the fdatasync handed to a
// second thread while this one works, with both threads sleeping between hand-offs (what a
// worker or libuv's pool does) or spinning (a core kept busy). Rates are ratios to the same
// loop without the work, measured alternately in the same repetitions.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { rawAppendLoop } from './baselines.mjs';
import { median } from './measure.mjs';

const REQUEST = 0;
const FD = 1;
const DONE = 2;
const SPIN = 3;

function busy(us) {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}

/** The step after each write: 'alone' (fdatasync), 'inline' (fdatasync, then the work), or the fdatasync handed over. */
function stepOf(mode, workUs, w) {
  if (mode === 'alone') return (fd) => fs.fdatasyncSync(fd);
  if (mode === 'inline') {
    return (fd) => {
      fs.fdatasyncSync(fd);
      busy(workUs);
    };
  }
  return (fd) => {
    Atomics.store(w, DONE, 0);
    Atomics.store(w, FD, fd);
    Atomics.store(w, REQUEST, 1);
    Atomics.notify(w, REQUEST);
    busy(workUs);
    if (mode === 'spinning') while (Atomics.load(w, DONE) === 0);
    else Atomics.wait(w, DONE, 0);
  };
}

/** One loop of `n` appends; `mode` is 'alone' (no work), 'inline', 'sleeping' or 'spinning'. */
function loop(file, n, lineLength, workUs, mode, shared) {
  const w = new Int32Array(shared);
  Atomics.store(w, SPIN, mode === 'spinning' ? 1 : 0);
  return rawAppendLoop(file, n, lineLength, stepOf(mode, workUs, w));
}

/**
 * Ratios of the three orders to the bare loop, for `workUs` of work per append (the row passes
 * its own CPU per event beyond the baseline's). A busy loop stands for the work: it makes no
 * syscalls and writes no pages, so it competes less with the fdatasync than the real work would.
 */
export async function fsyncOverlap(ctx, lineLength, workUs) {
  const shared = new SharedArrayBuffer(16);
  const thread = new Worker(new URL('./fsync-overlap-thread.mjs', import.meta.url), { workerData: { shared } });
  const exited = new Promise((resolve) => thread.once('exit', resolve));
  const file = path.join(ctx.tmp, 'overlap.jsonl');
  const n = ctx.size.single;
  const modes = ['alone', 'inline', 'sleeping', 'spinning'];
  const rates = Object.fromEntries(modes.map((m) => [m, []]));
  try {
    await new Promise((resolve, reject) => thread.once('online', resolve).once('error', reject));
    for (let r = 0; r < ctx.warmup + ctx.reps; r++) {
      for (const mode of modes) {
        const x = await loop(file, n, lineLength, workUs, mode, shared);
        if (r >= ctx.warmup) rates[mode].push(x);
      }
    }
  } finally {
    const w = new Int32Array(shared);
    Atomics.store(w, REQUEST, 2);
    Atomics.notify(w, REQUEST);
    await exited;
  }
  const alone = median(rates.alone);
  const ratio = (m) => +(median(rates[m]) / alone).toFixed(3);
  return { workUs: Math.round(workUs), aloneOpsPerSecond: Math.round(alone), inline: ratio('inline'), sleeping: ratio('sleeping'), spinning: ratio('spinning') };
}
