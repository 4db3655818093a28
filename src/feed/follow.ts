/**
 * follow(): committed, verified events in seq order, as an async iterable that ends when its
 * signal aborts (spec §21.1). One loop serves the writing process (LocalSource) and any other
 * (FolderSource): read what is durable, yield it as the consumer pulls, sleep until the bound
 * may have moved. Nothing is read ahead of the consumer beyond one chunk.
 */
import fs from 'node:fs';
import { InvalidInputError, LedgerStateError } from '../errors.js';
import { Keyring } from '../crypto/keyring.js';
import type { SealedEvent } from '../format/event.js';
import { ledgerPaths } from '../store/layout.js';
import { type FileIO, NODE_FILE_IO } from '../store/file-io.js';
import { anchorFor, assertCursorHolds } from './anchor.js';
import type { FeedCursor } from './cursor.js';
import { DEFAULT_POLL_INTERVAL_MS, FolderSource } from './folder-source.js';
import { type FeedRecord, type KeySource, LineReader } from './line-reader.js';
import type { DurableSource } from './source.js';

export type { FeedRecord } from './line-reader.js';
export type { FeedCursor } from './cursor.js';

export interface FollowOptions {
  /** First seq to yield (default 0). A seq beyond the head waits for it. */
  fromSeq?: number;
  /** Abort to end the iteration; a pending next() then resolves done. */
  signal?: AbortSignal;
  /** Report unsigned events as SIGNATURE_REQUIRED instead of yielding them. */
  requireSignatures?: boolean;
}

export interface FollowFolderOptions extends FollowOptions {
  dir: string;
  /** Keys to verify signatures with; default: the folder's keyring.json, re-read for new keys. */
  keyring?: Keyring;
  /** Fallback wake-up when no fs.watch notification comes (default 250 ms). */
  pollIntervalMs?: number;
}

/** @internal What a follower is made of; the consumer resumes from a stored cursor with it. */
export interface FollowPlan {
  path: string;
  /** Called on the first pull, so an iterator never started holds no watcher or connection. */
  source: () => DurableSource;
  keys: KeySource;
  /** Start at this verified position instead of looking up fromSeq. */
  cursor?: FeedCursor;
  io?: FileIO;
}

/** Follow a ledger folder from any process: verified events, in seq order, once each. */
export function follow(options: FollowFolderOptions): AsyncGenerator<SealedEvent, void, undefined> {
  return eventsOf(followRecords(options));
}

/** Like follow(), yielding each event with its canonical line and byte offsets. */
export function followRecords(options: FollowFolderOptions): AsyncGenerator<FeedRecord, void, undefined> {
  return run(folderPlan(options), options);
}

/** @internal */
export function folderPlan(options: { dir: string; keyring?: Keyring; pollIntervalMs?: number }): FollowPlan {
  const interval = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  if (!(Number.isFinite(interval) && interval > 0)) throw new InvalidInputError('INVALID_ARGUMENT', 'pollIntervalMs must be a positive number');
  const paths = ledgerPaths(options.dir);
  if (!fs.existsSync(paths.jsonl)) {
    throw new LedgerStateError('LEDGER_NOT_FOUND', `${paths.dir} is not a ledger folder (no events.jsonl)`, { details: { dir: paths.dir } });
  }
  return {
    path: paths.jsonl,
    source: () => new FolderSource(paths.dir, paths.sqlite, interval),
    keys: options.keyring ? { keyring: () => options.keyring!, reload: () => false } : folderKeys(paths.keyring),
  };
}

/** keyring.json as verify reads it, re-read when a signature names a key it lacks. */
function folderKeys(path: string): KeySource {
  const load = () => (fs.existsSync(path) ? Keyring.load(path) : new Keyring());
  let keyring = load();
  let text = fs.existsSync(path) ? fs.readFileSync(path, 'utf8') : '';
  return {
    keyring: () => keyring,
    reload: () => {
      const now = fs.existsSync(path) ? fs.readFileSync(path, 'utf8') : '';
      if (now === text) return false;
      text = now;
      keyring = load();
      return true;
    },
  };
}

export async function* eventsOf(records: AsyncGenerator<FeedRecord, void, undefined>): AsyncGenerator<SealedEvent, void, undefined> {
  try {
    for await (const r of records) yield r.event;
  } finally {
    await records.return(undefined);
  }
}

/** @internal The one follow loop (spec §21.1); bad options throw here, not at the first pull. */
/** @internal */
export function run(plan: FollowPlan, options: FollowOptions): AsyncGenerator<FeedRecord, void, undefined> {
  const fromSeq = options.fromSeq ?? 0;
  if (!Number.isSafeInteger(fromSeq) || fromSeq < 0) throw new InvalidInputError('INVALID_ARGUMENT', 'fromSeq must be an integer >= 0');
  return loop(plan, options, fromSeq);
}

async function* loop(plan: FollowPlan, options: FollowOptions, fromSeq: number): AsyncGenerator<FeedRecord, void, undefined> {
  const io = plan.io ?? NODE_FILE_IO;
  const { signal } = options;
  if (signal?.aborted) return;
  const source = plan.source();
  // Release the watcher and timers at once, even while the consumer is not pulling: a suspended
  // generator would otherwise keep them (and the process) alive until its next pull.
  const release = () => source.close();
  signal?.addEventListener('abort', release, { once: true });
  let fd: number | undefined;
  try {
    fd = openForReading(io, plan.path);
    let start: FeedCursor;
    if (plan.cursor) {
      assertCursorHolds(io, fd, plan.cursor, plan.path, 'the stored cursor');
      start = plan.cursor;
    } else {
      // The hint is read after the bound, so a row it names is never past what is durable.
      await source.bound();
      start = anchorFor(io, fd, fromSeq, source.hint);
    }
    const reader = new LineReader(io, fd, plan.path, start, { keys: plan.keys, requireSignatures: options.requireSignatures ?? false });
    while (!signal?.aborted) {
      const batch = reader.read(await source.bound());
      if (batch.length === 0) {
        if (source.ended) return;
        await source.wait(signal);
        continue;
      }
      for (const record of batch) {
        if (signal?.aborted) return;
        if (record.event.seq >= fromSeq) yield record;
      }
    }
  } finally {
    signal?.removeEventListener('abort', release);
    source.close();
    if (fd !== undefined) io.close(fd);
  }
}

function openForReading(io: FileIO, path: string): number {
  try {
    return io.open(path, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new LedgerStateError('LEDGER_NOT_FOUND', `${path} does not exist`, { details: { path }, cause: e });
    throw new LedgerStateError('IO_ERROR', `cannot open ${path}: ${err.code ?? err.message}`, { details: { path, errno: err.code }, cause: e });
  }
}
