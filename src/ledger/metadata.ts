/**
 * ledger.json: what a ledger is called (spec §7.1). The checkpoint origin is fixed at creation
 * because a verifier pins it: changing it would orphan every checkpoint signed before.
 */
import fs from 'node:fs';
import { LedgerStateError } from '../errors.js';
import { canonicalize } from '../format/canonical.js';
import { uuidv7 } from '../format/event.js';
import type { FileIO } from '../store/file-io.js';
import { dirname } from 'node:path';

export interface LedgerMetadata {
  type: 'sealed-ledger';
  v: 1;
  /** The first line of every checkpoint (C2SP tlog-checkpoint origin). */
  origin: string;
  createdAt: string;
}

const ORIGIN = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;

/** A folder restored from events.jsonl alone gets fresh metadata; its old checkpoints name the old origin. */
export function readOrCreateMetadata(path: string, origin: string | undefined, io: FileIO, readOnly = false): LedgerMetadata {
  if (fs.existsSync(path)) {
    let m: unknown;
    try {
      m = JSON.parse(fs.readFileSync(path, 'utf8'));
    } catch (e) {
      throw new LedgerStateError('LEDGER_CORRUPT', `${path} is not valid JSON`, { cause: e });
    }
    const r = m as Partial<LedgerMetadata>;
    if (r?.type !== 'sealed-ledger' || r.v !== 1 || typeof r.origin !== 'string' || !ORIGIN.test(r.origin) || typeof r.createdAt !== 'string') {
      throw new LedgerStateError('LEDGER_CORRUPT', `${path} is not sealed-ledger metadata`);
    }
    if (origin !== undefined && origin !== r.origin) {
      throw new LedgerStateError('LEDGER_CORRUPT', `this ledger's origin is ${r.origin}, not ${origin}`);
    }
    return r as LedgerMetadata;
  }
  if (readOnly) {
    return { type: 'sealed-ledger', v: 1, origin: 'unknown (no ledger.json)', createdAt: '' };
  }
  if (origin !== undefined && !ORIGIN.test(origin)) {
    throw new LedgerStateError('LEDGER_CORRUPT', 'origin must be 1..255 printable ASCII characters, not starting with a space');
  }
  const meta: LedgerMetadata = {
    type: 'sealed-ledger',
    v: 1,
    origin: origin ?? `sealed-ledger.local/${uuidv7()}`,
    createdAt: new Date().toISOString(),
  };
  // Temp file + rename: a crash during creation leaves no ledger.json or a whole one, never a
  // partial file that would make every later open fail.
  const temp = `${path}.${process.pid}.tmp`;
  const fd = io.open(temp, 'w', 0o644);
  try {
    io.write(fd, Buffer.from(canonicalize(meta) + '\n'), 0);
    io.sync(fd);
  } finally {
    io.close(fd);
  }
  fs.renameSync(temp, path);
  io.syncDir(dirname(path));
  return meta;
}
