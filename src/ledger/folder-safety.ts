/**
 * What the ledger refuses to trust about its own folder's entries (spec §7.1): a ledger file
 * that is a symbolic link is never followed (a writer would otherwise move aside, truncate and
 * overwrite whatever the link names), and files or a folder that others on the host may write
 * are reported, since anyone who can write them can rewrite the evidence.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LedgerStateError } from '../errors.js';
import type { LedgerPaths } from '../store/layout.js';
import { LOCK_FILE } from './lock-file.js';

/** The folder's own entries, in the order a writer touches them. */
function entries(paths: LedgerPaths): { path: string; dir?: true }[] {
  return [
    { path: paths.jsonl }, { path: paths.sqlite }, { path: `${paths.sqlite}-wal` }, { path: `${paths.sqlite}-shm` },
    { path: paths.metadata }, { path: paths.keyring }, { path: paths.checkpoints }, { path: paths.quarantine },
    { path: paths.witness }, { path: path.join(paths.dir, LOCK_FILE) }, { path: path.join(paths.dir, `${LOCK_FILE}-journal`) },
    { path: paths.torn, dir: true },
  ];
}

function lstatOrUndefined(path: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** LEDGER_CORRUPT naming the entry when any ledger file is a symlink or not a regular file. */
export function assertNoLinks(paths: LedgerPaths): void {
  for (const e of entries(paths)) {
    const st = lstatOrUndefined(e.path);
    if (!st) continue;
    const ok = e.dir ? st.isDirectory() : st.isFile();
    if (!ok) {
      const what = st.isSymbolicLink() ? 'a symbolic link' : `not a regular ${e.dir ? 'folder' : 'file'}`;
      throw new LedgerStateError('LEDGER_CORRUPT', `${e.path} is ${what}; ledger files are never followed or replaced, so nothing was written`, {
        details: { path: e.path },
      });
    }
  }
}

/** One line per group- or world-writable entry (the folder included). */
export function folderWarnings(paths: LedgerPaths): string[] {
  const out: string[] = [];
  for (const e of [{ path: paths.dir }, ...entries(paths)]) {
    let st: fs.Stats | undefined;
    try {
      st = lstatOrUndefined(e.path);
    } catch {
      continue; // unreadable: the open or read that needs it reports the errno
    }
    if (!st || st.isSymbolicLink()) continue;
    const who = [st.mode & 0o020 ? 'group' : '', st.mode & 0o002 ? 'others' : ''].filter(Boolean).join(' and ');
    // A sticky world-writable folder (like /tmp) still lets others create entries in it.
    if (who) out.push(`${e.path} is writable by ${who} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}): anyone who can write it can rewrite the ledger`);
  }
  return out;
}
