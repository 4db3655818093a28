/**
 * `consumers list|reset` (spec §21.6): read or move stored consumer offsets. A reset target is
 * found and checked in events.jsonl like any resume point (spec §21.2). Stop the consumer first:
 * a running one would overwrite the reset with its next acknowledgement.
 */
import fs from 'node:fs';
import { InvalidInputError, LedgerStateError } from '../errors.js';
import { ledgerPaths } from '../store/layout.js';
import { NODE_FILE_IO } from '../store/file-io.js';
import { Projection } from '../store/projection.js';
import { anchorFor } from './anchor.js';
import { type ConsumerOffset, assertConsumerName, listOffsets, writeOffset } from './consumer-offsets.js';
import { START } from './cursor.js';
import { fixedKeys, LineReader } from './line-reader.js';

export interface ConsumerStatus extends ConsumerOffset {
  /** Events durable after the consumer's offset; undefined without a ledger.db to ask. */
  lag: number | undefined;
}

async function withProjection<T>(dir: string, f: (p: Projection | undefined) => T): Promise<T> {
  const paths = ledgerPaths(dir);
  if (!fs.existsSync(paths.jsonl)) {
    throw new LedgerStateError('LEDGER_NOT_FOUND', `${paths.dir} is not a ledger folder (no events.jsonl)`, { details: { dir: paths.dir } });
  }
  if (!fs.existsSync(paths.sqlite)) return f(undefined);
  const p = await Projection.open(paths.sqlite, { readOnly: true });
  try {
    return f(p);
  } finally {
    await p.close();
  }
}

/** seq of the last durable event as another process sees it (§21.3); -1 when none is known. */
export async function durableHead(dir: string): Promise<number> {
  return withProjection(dir, (p) => p?.watermark().seq ?? -1);
}

export async function listConsumers(dir: string): Promise<ConsumerStatus[]> {
  return withProjection(dir, (p) => {
    const head = p?.watermark().seq;
    return listOffsets(dir).map((o) => ({ ...o, lag: head === undefined ? undefined : Math.max(0, head - o.seq) }));
  });
}

/** Make consumer `name` resume at `toSeq` (default 0: from the start). */
export async function resetConsumer(dir: string, name: string, options: { toSeq?: number } = {}): Promise<ConsumerOffset> {
  assertConsumerName(name);
  const toSeq = options.toSeq ?? 0;
  if (!Number.isSafeInteger(toSeq) || toSeq < 0) throw new InvalidInputError('INVALID_ARGUMENT', 'toSeq must be an integer >= 0');
  const paths = ledgerPaths(dir);
  const cursor = await withProjection(dir, (p) => {
    const durable = p?.watermark() ?? { seq: -1, offset: 0 };
    if (toSeq > durable.seq + 1) {
      throw new InvalidInputError('INVALID_ARGUMENT', `toSeq ${toSeq} is past the durable head (seq ${durable.seq})`, { details: { toSeq, head: durable.seq } });
    }
    if (toSeq === 0) return { ...START };
    const io = NODE_FILE_IO;
    const fd = io.open(paths.jsonl, 'r');
    try {
      let at = anchorFor(io, fd, toSeq, (seq) => {
        const row = p?.bySeq(seq);
        return row ? { offset: row.offset, line: row.line } : undefined;
      });
      // No usable row: walk the chain from the start (verifying seals and links, not signatures).
      const reader = new LineReader(io, fd, paths.jsonl, at, { keys: fixedKeys(undefined), skipSignatures: true });
      while (at.seq < toSeq - 1) {
        const batch = reader.read(durable.offset);
        if (batch.length === 0) throw new LedgerStateError('LEDGER_CORRUPT', `events.jsonl ends before seq ${toSeq - 1}`, { details: { seq: toSeq - 1 } });
        const hit = batch.find((r) => r.event.seq === toSeq - 1);
        at = hit ? { seq: hit.event.seq, hash: hit.event.hash, offset: hit.end } : reader.position();
      }
      return at;
    } finally {
      io.close(fd);
    }
  });
  return writeOffset(dir, name, cursor);
}
