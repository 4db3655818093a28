/**
 * Ledger folders for the recovery-core tests, damaged the way a crash or an attacker would:
 * lines appended past the watermark (forged, forked, gapped, torn), a projection rolled back or
 * removed, rows edited by hand.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Keyring } from '../../../src/crypto/keyring.js';
import { signingKeyFromSeed, type SigningKey } from '../../../src/crypto/signing-key.js';
import { canonicalize, type JsonValue } from '../../../src/format/canonical.js';
import { GENESIS_PREV, type SealedEvent } from '../../../src/format/event.js';
import { encodeLine, sealEvent } from '../../../src/format/seal.js';
import { signEvent } from '../../../src/format/signature.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import { tempDir } from '../../helpers.js';

export const KEY_A = signingKeyFromSeed(Buffer.alloc(32, 41), 'recovery-a');
/** A key no keyring of these tests holds. */
export const KEY_OUTSIDE = signingKeyFromSeed(Buffer.alloc(32, 42), 'recovery-outside');
export const AT = '2026-05-06T07:08:09Z';

export function keyringOf(...keys: SigningKey[]): Keyring {
  return new Keyring(keys.map((k) => ({ kid: k.kid, name: k.name, publicKey: k.publicKey })));
}

export interface Folder {
  dir: string;
  jsonl: string;
  sqlite: string;
  torn: string;
  keyring: Keyring;
}

const cleanups: (() => void)[] = [];
export function removeFolders(): void {
  cleanups.splice(0).forEach((c) => c());
}

/** `n` events signed by KEY_A (ids ev-0…, payload {i}, `actor` if given), or unsigned; the keyring holds KEY_A. */
export async function folderWith(n: number, options: { signed?: boolean; actor?: string } = {}): Promise<Folder> {
  const t = tempDir('sl-recovery-');
  cleanups.push(t.cleanup);
  const dir = path.join(t.dir, 'ledger');
  const signed = options.signed ?? true;
  const keyring = keyringOf(KEY_A);
  const ledger = await Ledger.open({ dir, create: true, keyring, ...(signed ? { signer: KEY_A } : {}), now: () => new Date(AT), projectionLagMs: 0 });
  if (n > 0) await ledger.appendBatch(Array.from({ length: n }, (_, i) => ({ kind: 'k', id: `ev-${i}`, payload: { i }, ...(options.actor ? { actor: options.actor } : {}) })));
  await ledger.close();
  return { dir, jsonl: path.join(dir, 'events.jsonl'), sqlite: path.join(dir, 'ledger.db'), torn: path.join(dir, 'torn'), keyring };
}

export function events(f: Folder): SealedEvent[] {
  return lines(f).map((l) => JSON.parse(l) as SealedEvent);
}

export function lines(f: Folder): string[] {
  return fs.readFileSync(f.jsonl, 'utf8').split('\n').slice(0, -1);
}

/** The canonical line of `ev` (no newline). */
export function lineOf(ev: SealedEvent): string {
  return encodeLine(ev, canonicalize(ev.payload));
}

/**
 * A sealed event at `seq` chained to `prev` (default: continues `after`), signed by `signer`
 * (KEY_A by default; null: unsigned).
 */
export function eventAfter(
  after: SealedEvent | undefined,
  o: { seq?: number; prev?: string; id?: string; at?: string; payload?: JsonValue; signer?: SigningKey | null } = {},
): SealedEvent {
  const seq = o.seq ?? (after ? after.seq + 1 : 0);
  const sealed = sealEvent({ kind: 'k', id: o.id ?? `ev-${seq}`, at: o.at ?? after?.at ?? AT, payload: o.payload ?? { i: seq } }, { seq, prev: o.prev ?? after?.hash ?? GENESIS_PREV });
  const signer = o.signer === undefined ? KEY_A : o.signer;
  return signer ? signEvent(sealed, signer) : sealed;
}

/** Append raw text (each string a line ending in "\n" unless `torn`). Returns the offset it starts at. */
export function appendRaw(f: Folder, text: string | Buffer): number {
  const at = fs.statSync(f.jsonl).size;
  fs.appendFileSync(f.jsonl, text);
  return at;
}

export function appendLines(f: Folder, ls: string[]): number {
  return appendRaw(f, ls.map((l) => l + '\n').join(''));
}

/** Lose ledger.db (every line is then past the watermark). */
export function dropProjection(f: Folder): void {
  for (const s of ['', '-wal', '-shm']) fs.rmSync(f.sqlite + s, { force: true });
}

export function withDb<T>(f: Folder, fn: (db: Database.Database) => T): T {
  const db = new Database(f.sqlite);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/**
 * Move the watermark back to `seq` and keep the rows after it, as a projection whose watermark
 * update was lost while its rows were not would look (rows past the watermark).
 */
export function rollBackWatermark(f: Folder, seq: number): void {
  withDb(f, (db) => {
    const row = db.prepare<[number], { hash: string; offset: number; line: string }>('SELECT hash, offset, line FROM events WHERE seq = ?').get(seq)!;
    db.prepare('UPDATE watermark SET seq = ?, hash = ?, offset = ?, line_start = ?').run(seq, row.hash, row.offset + Buffer.byteLength(row.line) + 1, row.offset);
  });
}

export function rowCount(f: Folder): number {
  return withDb(f, (db) => db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events').get()!.n);
}

export function tamperEntries(f: Folder): { seq: number; op: string }[] {
  return withDb(f, (db) => db.prepare<[], { seq: number; op: string }>('SELECT DISTINCT seq, op FROM projection_tamper ORDER BY seq').all());
}

export function tornFiles(f: Folder): string[] {
  return fs.existsSync(f.torn) ? fs.readdirSync(f.torn) : [];
}

/** Every file of the folder except SQLite's shared-memory index, to prove nothing changed. */
export function snapshot(f: Folder): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.endsWith('-shm') && !(e.name.endsWith('-wal') && fs.statSync(p).size === 0)) out[path.relative(f.dir, p)] = fs.readFileSync(p).toString('base64');
    }
  };
  walk(f.dir);
  return out;
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
  try {
    const v = await p;
    if (v instanceof Ledger) await v.close();
  } catch (e) {
    return e as Error & { code?: string; details?: Record<string, unknown> };
  }
  throw new Error('expected a rejection, got success');
}
