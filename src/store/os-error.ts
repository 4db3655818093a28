/**
 * Operating-system failures as typed errors (spec §9): IO_ERROR naming the path, the errno and
 * the call, never an INTERNAL "report it". SQLite reports a read-only or unopenable database
 * without an errno, so the file (or its folder) is probed once to recover it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LedgerStateError, SealedLedgerError } from '../errors.js';

/** SQLite result codes that mean the file system refused, not that the data is wrong. */
const SQLITE_OS = /^SQLITE_(READONLY|CANTOPEN|IOERR|PERM|FULL)/;

function isErrno(e: unknown): e is NodeJS.ErrnoException & { code: string; syscall: string } {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** The errno that writing `file` (or creating it in its folder) would fail with, if any. */
function probeErrno(file: string): string | undefined {
  try {
    if (fs.existsSync(file)) fs.closeSync(fs.openSync(file, fs.constants.O_RDWR | (fs.constants.O_NOFOLLOW ?? 0)));
    else fs.accessSync(path.dirname(file), fs.constants.W_OK);
    return undefined;
  } catch (e) {
    return isErrno(e) ? e.code : undefined;
  }
}

/**
 * `e` as IO_ERROR when it is an OS refusal (a Node fs error, or a SQLite error that is one);
 * anything else is returned unchanged. `file` names the file when the error does not.
 */
export function asIoError(e: unknown, file?: string): unknown {
  if (e instanceof SealedLedgerError) return e;
  if (isErrno(e)) {
    const where = e.path ?? file;
    return new LedgerStateError('IO_ERROR', `${e.syscall} ${where}: ${e.code}`, {
      cause: e, details: { path: where, errno: e.code, syscall: e.syscall },
    });
  }
  const code = (e as { code?: unknown } | undefined)?.code;
  if (file !== undefined && e instanceof Error && typeof code === 'string' && SQLITE_OS.test(code)) {
    const errno = probeErrno(file);
    return new LedgerStateError('IO_ERROR', `${file}: ${errno ?? code} (${e.message})`, {
      cause: e, details: { path: file, errno: errno ?? null, sqlite: code },
    });
  }
  return e;
}

/** Run `f`, turning OS refusals into IO_ERROR naming `file` when they do not name one. */
export async function withIoErrors<T>(file: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw asIoError(e, file);
  }
}

/**
 * Whether `p` exists, telling "does not exist" (false) from "cannot be looked at" (IO_ERROR):
 * fs.existsSync answers false for both, and an unreadable folder is not a missing ledger.
 */
export function existsOrThrow(p: string): boolean {
  try {
    fs.statSync(p);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw asIoError(e, p);
  }
}
