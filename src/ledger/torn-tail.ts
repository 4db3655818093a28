/**
 * A torn or invalid tail is moved aside, never silently kept or dropped (spec §7.3): its bytes
 * are written to torn/ (named by offset and content hash, so a repeat after a crash rewrites the
 * same file) and fsynced before events.jsonl is truncated.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { FileIO } from '../store/file-io.js';
import type { JsonlFile } from '../store/jsonl-file.js';
import type { CrashHook } from './crash-points.js';
import type { TailDefect } from './tail-replay.js';
import { LedgerStateError, SealedLedgerError } from '../errors.js';

export interface MovedTail extends TailDefect {
  /** Where the bytes were saved. */
  savedTo: string;
}

const COPY_CHUNK = 1 << 20;

export function moveTailAside(jsonl: JsonlFile, defect: TailDefect, tornDir: string, io: FileIO, crash?: CrashHook): MovedTail {
  // Hashed, then copied, a chunk at a time: a tail may be as long as the file (spec §7.2).
  const digest = createHash('sha256');
  for (let at = 0; at < defect.length; at += COPY_CHUNK) digest.update(jsonl.readRange(defect.offset + at, Math.min(COPY_CHUNK, defect.length - at)));
  const savedTo = path.join(tornDir, `events.jsonl.${defect.offset}.${digest.digest('hex').slice(0, 16)}.torn`);
  let target = tornDir;
  try {
    const createdDir = !fs.existsSync(tornDir);
    if (createdDir) fs.mkdirSync(tornDir, { recursive: true });
    target = savedTo;
    const c = fs.constants;
    const fd = io.open(savedTo, c.O_WRONLY | c.O_CREAT | c.O_TRUNC | (c.O_NOFOLLOW ?? 0), 0o600);
    try {
      for (let at = 0; at < defect.length; at += COPY_CHUNK) {
        io.write(fd, jsonl.readRange(defect.offset + at, Math.min(COPY_CHUNK, defect.length - at)), at);
      }
      io.sync(fd);
    } finally {
      io.close(fd);
    }
    target = tornDir;
    io.syncDir(tornDir);
    // fsync(torn/) makes the file's entry durable, not torn/'s own entry in the ledger folder.
    target = path.dirname(tornDir);
    if (createdDir) io.syncDir(target);
  } catch (e) {
    throw osError(e, target);
  }
  crash?.('reconcile.torn-saved');
  jsonl.truncate(defect.offset);
  jsonl.sync();
  crash?.('reconcile.truncated');
  return { ...defect, savedTo };
}

/** An OS error (it has an errno code) names the path it failed on; anything else passes unchanged. */
function osError(e: unknown, at: string): unknown {
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  if (!(e instanceof Error) || typeof errno !== 'string' || e instanceof SealedLedgerError) return e;
  return new LedgerStateError('IO_ERROR', `cannot save the damaged tail of events.jsonl to ${at}: ${errno} (${e.message}); events.jsonl was not truncated`, {
    cause: e, details: { path: at, errno },
  });
}
