/**
 * replayTail for a bulk load (spec §14.3, ADR 0036) with the order-free line checks on worker
 * threads: the writing thread keeps what depends on order (seq contiguity, prev, the first defect
 * in line order stopping the load) and the inserts, and spends its time in SQLite. Same checks,
 * same defects, same errors as replayTail's inline loop; the equivalence test holds them equal.
 */
import os from 'node:os';
import type { Keyring } from '../crypto/keyring.js';
import { parseEventLine } from '../format/event-line.js';
import { WorkerPool } from '../io/worker-pool.js';
import type { TornTail } from '../store/jsonl-file.js';
import { lineBatches, type LineBatch } from '../store/line-batches.js';
import { RowRefusedError } from '../store/row-batch.js';
import type { Watermark } from '../store/watermark.js';
import { OPEN_POLICY } from './read-policy.js';
import { rebuildError, ReplayLineReader, type ReplayBatchReply } from './replay-wire.js';
import type { ReplayWorkerData } from './replay-worker.js';
import { mirrorConflict, type TailDefect, type TailReplayResult, type TailReplayTarget } from './tail-replay.js';

const BATCH_BYTES = 256 << 10;
const IN_FLIGHT_PER_WORKER = 4;

/** Default thread count: one core stays with the writing thread (at least one worker). */
export function defaultReplayThreads(): number {
  return Math.max(1, os.availableParallelism() - 1);
}

export interface WorkerTailReplayOptions {
  threads: number;
  workerUrl: URL;
  progressEvery: number;
  onProgress?: ((scannedBytes: number, totalBytes: number) => void) | undefined;
  batchBytes?: number | undefined;
}

/**
 * Preconditions: an open write transaction, an empty projection (no row), `from` the empty
 * watermark (seq -1, offset 0), `threads` >= 1. The workers are terminated before this returns
 * or throws.
 */
export async function replayTailOnWorkers(target: TailReplayTarget, from: Watermark, options: WorkerTailReplayOptions): Promise<TailReplayResult> {
  const { jsonl, projection, frontier } = target;
  const policy = target.policy ?? OPEN_POLICY;
  if (from.seq !== -1 || from.offset !== 0) throw new Error('replayTailOnWorkers: only from the empty watermark');
  const data: ReplayWorkerData = { keyringJson: target.keyring ? JSON.stringify(target.keyring satisfies Keyring) : null, policy };
  const pool = new WorkerPool<ReplayBatchReply>(options.threads, options.workerUrl, data, 'replay');
  const total = jsonl.size();
  let wm = { ...from };
  let scanned = 0;
  let inserted = 0;
  let defect: TailDefect | undefined;
  const setDefect = (offset: number, code: TailDefect['code'], reason: string) => {
    defect = { offset, length: total - offset, code, reason };
  };

  // Rows go in 64 per statement (ADR 0040); every way out of a batch's lines inserts the pending
  // ones first, so that a refused row among them decides before anything later in line order, as
  // one-row inserts did.
  const rows = projection.rowBatch();
  /** A refused row as the inline path names it: the projection was empty, so only a repeated id collides. */
  const described = (e: unknown): unknown => {
    if (!(e instanceof RowRefusedError)) return e;
    return mirrorConflict(projection, parseEventLine(e.row.line, { offset: e.row.offset })) ?? e.cause;
  };

  /** The lines of one answered batch, in order, their rows inserted; false once the load stops. */
  const consume = (batch: LineBatch, reply: ReplayBatchReply): boolean => {
    try {
      const going = consumeLines(batch, reply);
      rows.flush();
      return going;
    } catch (e) {
      try {
        rows.flush();
      } catch (earlier) {
        throw described(earlier);
      }
      throw described(e);
    }
  };

  const consumeLines = (batch: LineBatch, reply: ReplayBatchReply): boolean => {
    const bytes = Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
    const r = new ReplayLineReader(reply.lines);
    const failure = reply.failure;
    const count = failure ? failure.index + 1 : r.count;
    for (let i = 0; i < count; i++) {
      scanned++;
      // A pre-failed line is not packed: it starts right after the line before it.
      const start = i < r.count ? r.start(i) : i === 0 ? 0 : r.end(i - 1);
      const offset = batch.offset + start;
      if (failure && i === failure.index && failure.stage === 'pre') {
        if (failure.error) throw rebuildError(failure.error);
        setDefect(offset, ...failure.defect!);
        return false;
      }
      const seq = r.seq(i);
      if (seq !== wm.seq + 1) {
        setDefect(offset, 'SEQ_GAP', `expected seq ${wm.seq + 1}, found ${seq}`);
        return false;
      }
      const end = r.end(i);
      const line = bytes.toString('utf8', start, end - 1);
      const f = r.fields(i, line);
      if (f.prev !== wm.hash) {
        setDefect(offset, 'CHAIN_BROKEN', `seq ${seq}: prev ${f.prev.slice(0, 12)}… does not match the hash of seq ${wm.seq}`);
        return false;
      }
      if (failure && i === failure.index) {
        if (failure.error) throw rebuildError(failure.error);
        setDefect(offset, ...failure.defect!);
        return false;
      }
      const row = { seq, id: f.id, at: f.at, kind: f.kind, actor: f.actor, hash: f.hash, kid: f.kid, line, offset };
      wm = projection.mirrorRow(row, r.leaf(i), batch.offset + end, frontier, rows);
      inserted++;
      if (inserted % options.progressEvery === 0) options.onProgress?.(wm.offset, total);
    }
    return true;
  };

  let torn: TornTail | undefined;
  try {
    const inFlight: { batch: LineBatch; reply: Promise<ReplayBatchReply> | undefined }[] = [];
    let going = true;
    const next = async () => {
      const { batch, reply } = inFlight.shift()!;
      if (!reply) {
        // A line longer than the limit, never buffered: decided here, as the inline loop does.
        scanned++;
        setDefect(batch.overlong!.offset, 'MALFORMED_LINE', `line is longer than ${policy.maxLineBytes} bytes (spec §3.1.1)`);
        going = false;
      } else {
        going = consume(batch, await reply);
      }
    };
    for (const batch of lineBatches(jsonl, total, options.batchBytes ?? BATCH_BYTES, (t) => (torn = t), policy.maxLineBytes)) {
      // The batch is copied to the worker, not moved: its bytes become the rows' line text here.
      inFlight.push({ batch, reply: batch.overlong ? undefined : pool.submit({ batch }, []) });
      if (inFlight.length >= options.threads * IN_FLIGHT_PER_WORKER) await next();
      if (!going) break;
    }
    while (going && inFlight.length > 0) await next();
  } finally {
    await pool.close();
  }
  if (!defect && torn) {
    const t: TornTail = torn;
    setDefect(t.offset, 'TORN_LINE', `incomplete last line (${t.length} bytes, no newline)`);
  }
  projection.setWatermark(wm);
  options.onProgress?.(defect ? defect.offset : wm.offset, total);
  return { scanned, inserted, alreadyPresent: 0, watermark: wm, ...(defect ? { defect } : {}) };
}
