/**
 * Durable small-file writes for key and keyring files (spec §5.2, §5.3). Raw fs errors
 * propagate with their `code` (EEXIST, EACCES, ...): callers turn them into typed errors.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface DurableWriteOptions {
  /** Permission bits, applied with fchmod as well so that the umask cannot widen or narrow them. */
  mode: number;
  /** Replace an existing file atomically. Without it an existing file fails with EEXIST. */
  overwrite: boolean;
}

function writeAllAndSync(fd: number, data: Buffer, mode: number): void {
  fchmodSync(fd, mode);
  for (let offset = 0; offset < data.length; ) offset += writeSync(fd, data, offset, data.length - offset);
  fsyncSync(fd);
}

/** Makes a rename or create in `dir` survive a crash. Windows cannot open directories. */
export function fsyncDirectory(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `data` to `path`, fsyncs it and its directory. With `overwrite` the bytes go to a temp
 * file in the same directory that is then renamed over `path`, so readers see the old file or
 * the new one, never a mix. Without it the file is created exclusively (`wx`).
 */
export function writeFileDurably(path: string, data: string | Uint8Array, options: DurableWriteOptions): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  const target = options.overwrite ? join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`) : path;
  const fd = openSync(target, 'wx', options.mode);
  try {
    writeAllAndSync(fd, bytes, options.mode);
  } catch (e) {
    closeSync(fd);
    rmSync(target, { force: true });
    throw e;
  } finally {
    bytes.fill(0); // the caller may be writing a secret; leave no copy behind
  }
  closeSync(fd);
  if (options.overwrite) {
    try {
      renameSync(target, path);
    } catch (e) {
      rmSync(target, { force: true });
      throw e;
    }
  }
  fsyncDirectory(dirname(path));
}
