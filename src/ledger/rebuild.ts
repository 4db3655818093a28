/**
 * rebuildProjection (spec §14.3): build a fresh ledger.db from events.jsonl beside the old one,
 * and swap it in only when it reaches at least the old projection's head. A rebuild from a
 * damaged events.jsonl that stops short would otherwise replace a complete projection by a
 * shorter one, leaving the only complete copy as a backup nobody reads: then the old ledger.db
 * stays in place and nothing changes. The old file is kept aside, never deleted. lock.db is held
 * from before the new file is created until the swap is done (spec §14.3.1): a writer opening
 * in between would otherwise keep working on the file that is moved aside under it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SealedLedgerError } from '../errors.js';
import { NODE_FILE_IO } from '../store/file-io.js';
import { ProjectionReader } from '../store/projection-reader.js';
import { type LedgerPaths, ledgerPaths } from '../store/layout.js';
import { withIoErrors } from '../store/os-error.js';
import { removeDbFiles, removeStaleSideFiles, sideFileOf } from '../store/side-file.js';
import { assertNoLinks } from './folder-safety.js';
import { LOCK_FILE, WriterLockFile } from './lock-file.js';
import { replayJsonlIntoSqlite, type ReplayOptions, type ReplayReport } from './replay.js';
import { acquireLockFile } from './writer-lock.js';

export interface RebuildReport extends ReplayReport {
  /** The old projection's head (largest seq of its rows or watermark); -1 when none or unreadable. */
  oldHead: number;
  /** True when the new projection replaced the old one; false: nothing was changed. */
  replaced: boolean;
  /** Where the old ledger.db files went. */
  movedAside: { from: string; to: string }[];
}

const SUFFIXES = ['', '-wal', '-shm'];

export async function rebuildProjection(dir: string, options: Omit<ReplayOptions, 'into' | 'heldLock'> = {}, now = new Date()): Promise<RebuildReport> {
  const paths = ledgerPaths(dir);
  return withIoErrors(paths.sqlite, async () => {
    if (!fs.existsSync(paths.jsonl)) return rebuild(paths, dir, options, now);
    assertNoLinks(paths); // before lock.db is opened: a link there would be followed
    const lock = WriterLockFile.open(path.join(path.dirname(paths.sqlite), LOCK_FILE));
    try {
      await acquireLockFile(lock, options.lockTimeoutMs);
      return await rebuild(paths, dir, { ...options, heldLock: lock }, now);
    } finally {
      lock.release();
      lock.close();
    }
  });
}

/** Under lock.db, when events.jsonl exists (else the replay refuses with LEDGER_NOT_FOUND). */
async function rebuild(paths: LedgerPaths, dir: string, options: Omit<ReplayOptions, 'into'>, now: Date): Promise<RebuildReport> {
  // With lock.db held, every rebuild file found is a dead process's: a rebuild creates its file
  // only under the lock and removes or renames it before releasing it.
  if (options.heldLock) removeStaleSideFiles(paths.sqlite, '.rebuild-');
  const oldHead = projectionHead(paths.sqlite);
  const temp = sideFileOf(paths.sqlite, '.rebuild-');
  let report: ReplayReport;
  try {
    report = await replayJsonlIntoSqlite({ dir }, { ...options, into: temp });
  } catch (e) {
    removeDbFiles(temp);
    throw e;
  }
  if (report.toSeq < oldHead) {
    removeDbFiles(temp);
    return { ...report, oldHead, replaced: false, movedAside: [] };
  }
  const movedAside = moveDatabaseAside(paths.sqlite, now);
  // The replay closed its connection, so the WAL was checkpointed into the main file; any file
  // left behind moves with it.
  for (const s of SUFFIXES) if (fs.existsSync(temp + s)) fs.renameSync(temp + s, paths.sqlite + s);
  NODE_FILE_IO.syncDir(path.dirname(paths.sqlite));
  return { ...report, oldHead, replaced: true, movedAside };
}

/** The highest seq the old projection names, or -1 when it is missing or not readable as one. */
function projectionHead(sqlitePath: string): number {
  if (!fs.existsSync(sqlitePath)) return -1;
  let db: ProjectionReader | undefined;
  try {
    db = ProjectionReader.open(sqlitePath);
    const wm = db.watermark()?.seq ?? -1;
    const max = db.maxSeq();
    return Math.max(wm, max);
  } catch (e) {
    // A projection that cannot be read holds nothing a rebuild could lose.
    if (e instanceof SealedLedgerError) throw e;
    return -1;
  } finally {
    db?.close();
  }
}

/** Renames ledger.db, -wal and -shm to ledger.db.bak-<time>[-wal|-shm]; returns what moved. */
export function moveDatabaseAside(sqlitePath: string, now = new Date()): { from: string; to: string }[] {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  let base = `${sqlitePath}.bak-${stamp}`;
  for (let n = 1; fs.existsSync(base); n++) base = `${sqlitePath}.bak-${stamp}-${n}`;
  const moved: { from: string; to: string }[] = [];
  // The main file first: once it is gone, no new connection will open the old WAL with it.
  for (const suffix of SUFFIXES) {
    const from = sqlitePath + suffix;
    if (!fs.existsSync(from)) continue;
    fs.renameSync(from, base + suffix);
    moved.push({ from, to: base + suffix });
  }
  return moved;
}
