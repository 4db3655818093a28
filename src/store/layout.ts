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
export const WITNESS_FILE = 'witness.jsonl';

export interface LedgerPaths {
  dir: string;
  jsonl: string;
  sqlite: string;
  keyring: string;
  metadata: string;
  quarantine: string;
  torn: string;
  checkpoints: string;
  witness: string;
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
    witness: path.join(abs, WITNESS_FILE),
  };
}

/** A ledger folder, or its files named one by one (replay, verify and parity take either). */
export type StorePaths = { dir: string } | { jsonlPath: string; sqlitePath: string; keyringPath?: string };

export function resolveStorePaths(p: StorePaths): { jsonl: string; sqlite: string; keyring: string | undefined } {
  if ('dir' in p) {
    const l = ledgerPaths(p.dir);
    return { jsonl: l.jsonl, sqlite: l.sqlite, keyring: l.keyring };
  }
  return { jsonl: p.jsonlPath, sqlite: p.sqlitePath, keyring: p.keyringPath };
}
