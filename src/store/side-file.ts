/**
 * A projection built from scratch beside its final name and published whole (spec §14.3.1, ADR
 * 0036): nobody else opens the side file, so it can be loaded in rollback-journal mode, where
 * SQLite journals only the pages that existed before the transaction (a fresh file's few schema
 * pages) and writes every new page once, into the file itself, instead of into the WAL and again
 * at the checkpoint. A crash before publication leaves the final name as it was (missing); the
 * side file is debris the next replay removes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NODE_FILE_IO } from './file-io.js';

const DB_SUFFIXES = ['', '-journal', '-wal', '-shm'];

/** A replay's side file is `<target>.replay-<pid>`, rebuildProjection's `<target>.rebuild-<pid>`. */
export type SideTag = '.replay-' | '.rebuild-';

/** The side file this process builds `target` in. */
export function sideFileOf(target: string, tag: SideTag = '.replay-'): string {
  return `${target}${tag}${process.pid}`;
}

/** True when neither `target` nor any of its journal files exist: nothing to keep or to replay into. */
export function isMissingDb(target: string): boolean {
  return DB_SUFFIXES.every((s) => !fs.existsSync(target + s));
}

/** Removes a SQLite file with its journal files (missing ones are fine). */
export function removeDbFiles(file: string): void {
  for (const s of DB_SUFFIXES) fs.rmSync(file + s, { force: true });
}

/**
 * Removes side files of `target` that earlier builds left behind. Only a holder of the folder's
 * writer lock builds a side file, and publishes or removes it before releasing the lock, so with
 * the lock held every one found is a dead process's debris.
 */
export function removeStaleSideFiles(target: string, tag: SideTag = '.replay-'): void {
  const dir = path.dirname(target);
  const prefix = path.basename(target) + tag;
  const stale = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\d+(-journal|-wal|-shm)?$`);
  for (const name of fs.readdirSync(dir)) if (stale.test(name)) fs.rmSync(path.join(dir, name), { force: true });
}

/**
 * Makes the closed side file `side` durable and gives it the name `target`, only if `target` does
 * not exist (a writer's open may have created it meanwhile: then nothing is published, the side
 * file is removed and false returned). A hard link refuses an existing name atomically, which a
 * rename would silently replace; a file system without hard links falls back to checking first.
 */
export function publishSideFile(side: string, target: string): boolean {
  const fd = fs.openSync(side, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(side, target);
    fs.unlinkSync(side);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      removeDbFiles(side);
      return false;
    }
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw e;
    if (fs.existsSync(target)) {
      removeDbFiles(side);
      return false;
    }
    fs.renameSync(side, target);
  }
  NODE_FILE_IO.syncDir(path.dirname(target));
  return true;
}
