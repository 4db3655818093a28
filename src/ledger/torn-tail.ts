/**
 * A torn or invalid tail is moved aside, never silently kept or dropped (spec §7.3): its bytes
 * are written to torn/ (named by offset and content hash, so a repeat after a crash rewrites the
 * same file) and fsynced before events.jsonl is truncated.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha256 } from '../crypto/hash.js';
import type { FileIO } from '../store/file-io.js';
import type { JsonlFile } from '../store/jsonl-file.js';
import type { CrashHook } from './crash-points.js';
import type { TailDefect } from './tail-replay.js';

export interface MovedTail extends TailDefect {
  /** Where the bytes were saved. */
  savedTo: string;
}

export function moveTailAside(jsonl: JsonlFile, defect: TailDefect, tornDir: string, io: FileIO, crash?: CrashHook): MovedTail {
  const bytes = jsonl.readRange(defect.offset, defect.length);
  const createdDir = !fs.existsSync(tornDir);
  if (createdDir) fs.mkdirSync(tornDir, { recursive: true });
  const name = `events.jsonl.${defect.offset}.${sha256(bytes).toString('hex').slice(0, 16)}.torn`;
  const savedTo = path.join(tornDir, name);
  const fd = io.open(savedTo, 'w', 0o600);
  try {
    io.write(fd, bytes, 0);
    io.sync(fd);
  } finally {
    io.close(fd);
  }
  io.syncDir(tornDir);
  // fsync(torn/) makes the file's entry durable, not torn/'s own entry in the ledger folder.
  if (createdDir) io.syncDir(path.dirname(tornDir));
  crash?.('reconcile.torn-saved');
  jsonl.truncate(defect.offset);
  jsonl.sync();
  crash?.('reconcile.truncated');
  return { ...defect, savedTo };
}
