// A probe beside the single-append rows: could the append's own work hide behind its fdatasync?
// Raw loops of write one line + fdatasync + `workUs` of CPU work, in three orders: inline (the
// work after the fdatasync, as the ledger does it), and overlapped, the fdatasync handed to a
// second thread while this one works, with both threads sleeping between hand-offs (what a
// worker or libuv's pool does) or spinning (a core kept busy). Rates are ratios to the same
// loop without the work, measured alternately in the same repetitions.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { median, rate } from './measure.mjs';

const REQUEST = 0;
const FD = 1;
const DONE = 2;
const SPIN = 3;

function busy(us) {
  const until = performance.now() + us / 1000;
  while (performance.now() < until);
}

/** One loop of `n` appends; `mode` is 'alone' (no work), 'inline', 'sleeping' or 'spinning'. */
async function loop(file, n, lineLength, workUs, mode, shared) {
  const line = Buffer.alloc(lineLength, 0x61);
  line[lineLength - 1] = 0x0a;
  const fd = fs.openSync(file, 'w');
  const w = new Int32Array(shared);
  Atomics.store(w, SPIN, mode === 'spinning' ? 1 : 0);
  try {
    let pos = 0;
    return await rate(n, () => {
      for (let i = 0; i < n; i++) {
        fs.writeSync(fd, line, 0, line.length, pos);
        pos += line.length;
        if (mode === 'alone' || mode === 'inline') {
          fs.fdatasyncSync(fd);
          if (mode === 'inline') busy(workUs);
          continue;
        }
        Atomics.store(w, DONE, 0);
        Atomics.store(w, FD, fd);
        Atomics.store(w, REQUEST, 1);
        Atomics.notify(w, REQUEST);
        busy(workUs);
        if (mode === 'spinning') while (Atomics.load(w, DONE) === 0);
        else Atomics.wait(w, DONE, 0);
      }
    });
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

/**
 * Ratios of the three orders to the bare loop, for `workUs` of work per append (the row passes
 * its own CPU per event beyond the baseline's). A busy loop stands for the work: it has no
 * syscalls or cache misses of its own, so this is the most overlap could give.
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
