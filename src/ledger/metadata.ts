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
  /**
   * 2 once a writer with the projection worker opened the folder (spec §13.9): writers older than
   * lock.db refuse it, since they would take only ledger.db's lock.
   */
  v: 1 | 2;
  /** The first line of every checkpoint (C2SP tlog-checkpoint origin). */
  origin: string;
  createdAt: string;
  /**
   * Events from this seq on must be signed (spec §7.1): reconcile, replay, doctor and verify
   * refuse an unsigned one without being told to. Absent: signatures are optional.
   */
  signaturesRequiredFrom?: number;
  /** The ledger's payload limit when it is not the default 1 MiB (spec §3.1.1). */
  maxPayloadBytes?: number;
}

export interface NewMetadataOptions {
  origin?: string | undefined;
  signaturesRequiredFrom?: number | undefined;
  maxPayloadBytes?: number | undefined;
}

const ORIGIN = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;

/** A folder restored from events.jsonl alone gets fresh metadata; its old checkpoints name the old origin. */
export function readOrCreateMetadata(path: string, create: NewMetadataOptions | string | undefined, io: FileIO, readOnly = false): LedgerMetadata {
  const o: NewMetadataOptions = typeof create === 'object' ? create : { origin: create };
  const origin = o.origin;
  assertNotLink(path);
  if (fs.existsSync(path)) {
    let m: unknown;
    try {
      m = JSON.parse(fs.readFileSync(path, 'utf8'));
    } catch (e) {
      throw new LedgerStateError('LEDGER_CORRUPT', `${path} is not valid JSON`, { cause: e });
    }
    const r = m as Partial<LedgerMetadata>;
    if (r?.type !== 'sealed-ledger' || (r.v !== 1 && r.v !== 2) || typeof r.origin !== 'string' || !ORIGIN.test(r.origin) || typeof r.createdAt !== 'string' ||
        !optionalCount(r.signaturesRequiredFrom, 0) || !optionalCount(r.maxPayloadBytes, 1)) {
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
    ...(o.signaturesRequiredFrom === undefined ? {} : { signaturesRequiredFrom: o.signaturesRequiredFrom }),
    ...(o.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: o.maxPayloadBytes }),
  };
  writeMetadata(path, meta, io);
  return meta;
}

/** Replace ledger.json whole (temp file + rename + folder fsync). */
export function writeMetadata(path: string, meta: LedgerMetadata, io: FileIO): void {
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
}

function optionalCount(v: unknown, min: number): boolean {
  return v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= min);
}

/** ledger.json is read and replaced by path: a symlink would make the writer follow it. */
function assertNotLink(path: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!st.isFile()) throw new LedgerStateError('LEDGER_CORRUPT', `${path} is not a regular file (a symlink or other entry); refusing to follow it`, { details: { path } });
}
