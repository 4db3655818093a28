/**
 * Durable consumer offsets (spec §21.5): one small file per consumer under
 * `<ledger>/consumers/<name>.json`, replaced atomically (temp file, fsync, rename, fsync of the
 * folder). No lock of the writer is taken: these files are the consumer's own store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError, LedgerStateError } from '../errors.js';
import { canonicalize } from '../format/canonical.js';
import { HASH_PATTERN } from '../format/event.js';
import { fsyncDirectory, writeFileDurably } from '../io/durable-file.js';
import { type FeedCursor, START } from './cursor.js';

export const CONSUMERS_DIR = 'consumers';
export const CONSUMER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const FILE_TYPE = 'sealed-ledger-consumer';

/** What a consumer offset file holds: the cursor after its last acknowledged event. */
export interface ConsumerOffset extends FeedCursor {
  name: string;
  /** When the offset was last written (informative). */
  updatedAt: string;
}

export function assertConsumerName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !CONSUMER_NAME.test(name)) {
    throw new InvalidInputError('INVALID_ARGUMENT', `consumer name must match ${CONSUMER_NAME.source}`, { details: { field: 'name' } });
  }
}

export function consumersDir(ledgerDir: string): string {
  return path.join(path.resolve(ledgerDir), CONSUMERS_DIR);
}

export function offsetPath(ledgerDir: string, name: string): string {
  assertConsumerName(name);
  return path.join(consumersDir(ledgerDir), `${name}.json`);
}

/** The stored offset, or the start of the ledger for a consumer never acknowledged. */
export function readOffset(ledgerDir: string, name: string): ConsumerOffset {
  const file = offsetPath(ledgerDir, name);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return { name, ...START, updatedAt: '' };
    throw new LedgerStateError('IO_ERROR', `cannot read ${file}: ${err.code ?? err.message}`, { details: { path: file, errno: err.code }, cause: e });
  }
  return parseOffset(text, file, name);
}

function parseOffset(text: string, file: string, name: string): ConsumerOffset {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new LedgerStateError('LEDGER_CORRUPT', `${file} is not valid JSON`, { details: { path: file }, cause: e });
  }
  const ok =
    typeof o === 'object' && o !== null && o.type === FILE_TYPE && o.v === 1 && o.name === name &&
    Number.isSafeInteger(o.seq) && (o.seq as number) >= -1 &&
    typeof o.hash === 'string' && HASH_PATTERN.test(o.hash) &&
    Number.isSafeInteger(o.offset) && (o.offset as number) >= 0 &&
    typeof o.updatedAt === 'string';
  if (!ok) throw new LedgerStateError('LEDGER_CORRUPT', `${file} is not a consumer offset file for ${name}`, { details: { path: file } });
  return { name, seq: o.seq as number, hash: o.hash as string, offset: o.offset as number, updatedAt: o.updatedAt as string };
}

/** Replace the offset atomically and durably; returns what was written. */
export function writeOffset(ledgerDir: string, name: string, cursor: FeedCursor): ConsumerOffset {
  const file = offsetPath(ledgerDir, name);
  const dir = path.dirname(file);
  try {
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir, { mode: 0o755 });
      fsyncDirectory(path.dirname(dir)); // the new folder's own entry
    }
    const record: ConsumerOffset = { name, seq: cursor.seq, hash: cursor.hash, offset: cursor.offset, updatedAt: new Date().toISOString() };
    writeFileDurably(file, canonicalize({ type: FILE_TYPE, v: 1, ...record }) + '\n', { mode: 0o644, overwrite: true });
    return record;
  } catch (e) {
    if (e instanceof LedgerStateError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new LedgerStateError('IO_ERROR', `cannot write ${file}: ${err.code ?? err.message}`, { details: { path: file, errno: err.code }, cause: e });
  }
}

/** Every stored consumer offset, by name. Leftover temp files of a crashed write are ignored. */
export function listOffsets(ledgerDir: string): ConsumerOffset[] {
  const dir = consumersDir(ledgerDir);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json') && CONSUMER_NAME.test(f.slice(0, -5)))
    .sort()
    .map((f) => readOffset(ledgerDir, f.slice(0, -5)));
}
