/**
 * What a ledger folder holds (spec §7.1).
 */
import path from 'node:path';

export const JSONL_FILE = 'events.jsonl';
export const SQLITE_FILE = 'ledger.db';
export const KEYRING_FILE = 'keyring.json';
export const METADATA_FILE = 'ledger.json';
export const QUARANTINE_FILE = 'quarantine.jsonl';
export const TORN_DIR = 'torn';
export const CHECKPOINTS_FILE = 'checkpoints.jsonl';

export interface LedgerPaths {
  dir: string;
  jsonl: string;
  sqlite: string;
  keyring: string;
  metadata: string;
  quarantine: string;
  torn: string;
  checkpoints: string;
}

export function ledgerPaths(dir: string): LedgerPaths {
  const abs = path.resolve(dir);
  return {
    dir: abs,
    jsonl: path.join(abs, JSONL_FILE),
    sqlite: path.join(abs, SQLITE_FILE),
    keyring: path.join(abs, KEYRING_FILE),
    metadata: path.join(abs, METADATA_FILE),
    quarantine: path.join(abs, QUARANTINE_FILE),
    torn: path.join(abs, TORN_DIR),
    checkpoints: path.join(abs, CHECKPOINTS_FILE),
  };
}
