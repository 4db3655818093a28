/**
 * Heal inside the writer lock (spec §13.1 step 2, §14.2): when events.jsonl or the watermark
 * moved since this process last looked (another writer, or a crash), reconcile in O(drift).
 * Returns what it found; the writer adopts the head and frontier it returns.
 */
import type { Keyring } from '../crypto/keyring.js';
import type { CompactRange } from '../merkle/compact-range.js';
import type { ParityEvidence } from '../policy/parity-rule.js';
import type { FileIO } from '../store/file-io.js';
import type { JsonlFile } from '../store/jsonl-file.js';
import type { LedgerPaths } from '../store/layout.js';
import type { Projection, Watermark } from '../store/projection.js';
import { readCheckpointRecords } from './checkpoint-log.js';
import type { CrashHook } from './crash-points.js';
import type { ReadPolicy } from './read-policy.js';
import { reconcile } from './reconcile.js';

/** The stores a writer holds open. */
export interface WriterFiles {
  readonly paths: LedgerPaths;
  readonly jsonl: JsonlFile;
  readonly projection: Projection;
  readonly keyring: Keyring | undefined;
  readonly io: FileIO;
}

export interface Healed {
  /** What each store says its end is, read on the way (one fstat and one watermark read, spec §16.3). */
  evidence: ParityEvidence;
  head: Watermark;
  frontier: CompactRange;
}

export function healInLock(
  files: WriterFiles,
  known: { head: Watermark; frontier: CompactRange },
  policy: ReadPolicy,
  crash: CrashHook | undefined,
): Healed {
  const wm = files.projection.watermark();
  const size = files.jsonl.size();
  if (sameMark(wm, known.head) && size === wm.offset) return { evidence: parityEvidence(size, wm, known.head), ...known };
  // Another process appended (or crashed mid-append): catch up in O(drift).
  const { report, frontier } = reconcile({
    jsonl: files.jsonl, projection: files.projection, keyring: files.keyring, io: files.io,
    tornDir: files.paths.torn, crash, policy,
    checkpointFloor: () => checkpointFloor(files.projection, files.paths),
  });
  const head = report.after;
  return { evidence: parityEvidence(files.jsonl.size(), files.projection.watermark(), head), head, frontier };
}

/** Events covered by the largest checkpoint ledger.db or checkpoints.jsonl records. */
export function checkpointFloor(projection: Projection, paths: LedgerPaths): number {
  let floor = projection.maxCheckpointSize();
  for (const r of readCheckpointRecords(paths.checkpoints)) floor = Math.max(floor, r.size);
  return floor;
}

/** What each store says its end is, for the parity rule (spec §16.3). */
function parityEvidence(size: number, wm: Watermark, head: Watermark): ParityEvidence {
  return {
    jsonl: { size, lastSeq: head.seq, lastHash: head.hash },
    sqlite: { offset: wm.offset, seq: wm.seq, hash: wm.hash },
  };
}

function sameMark(a: Watermark, b: Watermark): boolean {
  return a.seq === b.seq && a.hash === b.hash && a.offset === b.offset && a.lineStart === b.lineStart;
}
