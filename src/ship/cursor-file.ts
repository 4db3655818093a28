/**
 * The shipper's status file (spec §20.6): what `ship --status` and monitoring read. It is never
 * where shipping starts (the collector's head is), so losing or restoring it changes nothing
 * but the figures; it is replaced atomically (write, fsync, rename) and may lag a second.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError, LedgerStateError } from '../errors.js';
import type { ShipperStatus } from './status.js';

export interface CursorRecord extends ShipperStatus {
  pid: number;
  updatedAt: string;
}

export function writeCursorFile(file: string, status: ShipperStatus, now: Date): void {
  const record: CursorRecord = { ...status, pid: process.pid, updatedAt: now.toISOString() };
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    fs.writeSync(fd, JSON.stringify(record) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function readCursorFile(file: string): CursorRecord {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new LedgerStateError(errno === 'ENOENT' ? 'LEDGER_NOT_FOUND' : 'IO_ERROR', `${file}: ${errno}: no shipper status here (is a shipper running for this source?)`, {
      cause: e,
      details: { path: file, errno },
    });
  }
  try {
    return JSON.parse(text) as CursorRecord;
  } catch (e) {
    throw new InvalidInputError('INVALID_JSON', `${file} is not a shipper status file`, { cause: e, details: { path: file } });
  }
}

/** Default place: beside the ledger, one per source, e.g. `<dir>/ship-<source>.status.json`. */
export function defaultCursorFile(dir: string, source: string): string {
  return path.join(dir, `ship-${source}.status.json`);
}
