/**
 * Ledger folders for CLI tests, built in-process with the library (fast), then inspected and
 * damaged the way an operator or an attacker would: by editing files and SQLite rows.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { generateSigningKey, type SigningKey, writeSigningKeyFile } from '../../src/crypto/signing-key.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { tempDir } from '../helpers.js';

export interface Fixture {
  root: string;
  dir: string;
  keyPath: string;
  key: SigningKey;
  cleanup: () => void;
}

/** A ledger of `n` signed events at <tmp>/ledger with its key at <tmp>/key.json. */
export async function signedLedger(n: number, prefix = 'sl-cli-'): Promise<Fixture> {
  const t = tempDir(prefix);
  const dir = path.join(t.dir, 'ledger');
  const keyPath = path.join(t.dir, 'key.json');
  const key = generateSigningKey({ name: 'test-key' });
  writeSigningKeyFile(key, keyPath);
  const ledger = await Ledger.open({ dir, create: true, signer: key, origin: 'test.example/log' });
  try {
    const kinds = ['user.login', 'doc.edit', 'doc.view'];
    const batch = 500;
    for (let i = 0; i < n; i += batch) {
      await ledger.appendBatch(
        Array.from({ length: Math.min(batch, n - i) }, (_, j) => ({
          kind: kinds[(i + j) % kinds.length]!,
          actor: (i + j) % 2 === 0 ? 'alice' : 'bob',
          payload: { n: i + j },
        })),
      );
    }
  } finally {
    await ledger.close();
  }
  return { root: t.dir, dir, keyPath, key, cleanup: t.cleanup };
}

export function sql<T>(dir: string, f: (db: Database.Database) => T): T {
  const db = new Database(path.join(dir, 'ledger.db'));
  try {
    return f(db);
  } finally {
    db.close();
  }
}

export function jsonlLines(dir: string): string[] {
  return fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').filter((l) => l !== '');
}

/**
 * Every file in the folder with its bytes, to prove a command changed nothing. The SQLite -shm
 * file is left out: it is a shared-memory index that even read-only connections may touch.
 */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      // SQLite's shared-memory index, and an empty WAL that a read-only connection creates, are
      // SQLite's bookkeeping, not ledger content.
      else if (e.name.endsWith('-shm') || (e.name.endsWith('-wal') && fs.statSync(p).size === 0)) continue;
      else out.set(path.relative(dir, p), fs.readFileSync(p).toString('base64'));
    }
  };
  walk(dir);
  return out;
}
