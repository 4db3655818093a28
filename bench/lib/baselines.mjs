// The raw loops each figure is compared with: what the hardware and the native libraries give
// with none of the ledger's work (sealing, policy, chain, Merkle tree, projection).
import crypto from 'node:crypto';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import Hypercore from 'hypercore';
import { ledgerSchema } from './ledger-schema.mjs';
import { rate } from './measure.mjs';

/** One line + fdatasync per iteration, at the growing end of the file (as an append). */
export function rawWriteFsync(file, n, lineLength) {
  return rawAppendLoop(file, n, lineLength, (fd) => fs.fdatasyncSync(fd));
}

/** `n` writes of one `lineLength`-byte line at the growing end of `file`, each followed by `step(fd)`. */
export async function rawAppendLoop(file, n, lineLength, step) {
  const line = Buffer.alloc(lineLength, 0x61);
  line[lineLength - 1] = 0x0a;
  const fd = fs.openSync(file, 'w');
  try {
    let pos = 0;
    return await rate(n, () => {
      for (let i = 0; i < n; i++) {
        fs.writeSync(fd, line, 0, line.length, pos);
        pos += line.length;
        step(fd);
      }
    });
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

/**
 * What a user would pick instead for batch appends: Hypercore 11 `append` of 1,000-entry batches
 * of `lineLength`-byte entries into a fresh core (entries per second). Hypercore never fsyncs, so
 * it is faster than any fsync-durable log could be on the same disk; the target is set against it.
 * Opening and closing the core are not timed.
 */
export async function hypercoreBatches(dir, batches, lineLength) {
  const line = Buffer.alloc(lineLength, 0x61);
  line[lineLength - 1] = 0x0a;
  const batch = Array.from({ length: 1000 }, () => line);
  fs.rmSync(dir, { recursive: true, force: true });
  const core = new Hypercore(dir);
  try {
    await core.ready();
    const x = await rate(batches * 1000, async () => {
      for (let i = 0; i < batches; i++) await core.append(batch);
    });
    if (core.length !== batches * 1000) throw new Error(`hypercore holds ${core.length} entries, expected ${batches * 1000}`);
    return x;
  } finally {
    await core.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A function inserting ledger-shaped row `i` (seq i) with a prepared INSERT: the line column is
 * `sampleLine`, the others vary as the bench's events do (4 kinds, 5,000 actors, rising ids and
 * times). The caller owns the transaction. Baselines and ceilings share it: the same rows.
 */
export function eventRowInserter(db, sampleLine) {
  const insert = db.prepare('INSERT INTO events (seq, id, at, kind, actor, hash, kid, line, offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const hash = 'ab'.repeat(32);
  const t0 = Date.UTC(2026, 0, 1);
  const kinds = ['payment.captured', 'payment.refunded', 'login.succeeded', 'login.failed'];
  const step = Buffer.byteLength(sampleLine) + 1;
  return (i) => insert.run(i, `0199${i.toString(16).padStart(28, '0')}`, new Date(t0 + i).toISOString(), kinds[i & 3], `user:${100000 + (i % 5000)}`, hash, null, sampleLine, i * step);
}

/**
 * SQLite `file` with ledger.db's journal settings (spec §8.1, ADR 0004); `fresh` removes it first.
 * `journal: 'rollback'`: the settings a replay's side file is loaded with (spec §14.3.1).
 */
export function openDb(file, { fresh = true, journal = 'wal' } = {}) {
  if (fresh) for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
  const db = new Database(file);
  db.pragma(journal === 'rollback' ? 'journal_mode = DELETE' : 'journal_mode = WAL');
  db.pragma(journal === 'rollback' ? 'synchronous = FULL' : 'synchronous = NORMAL');
  return db;
}

export function removeDb(db, file) {
  db.close();
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
}

/**
 * A prepared INSERT loop of `n` rows in one transaction into a fresh file; rows per second. The
 * table is ledger.db's events table as the migrations create it, with its UNIQUE on id and its
 * secondary indexes; `indexes: false` gives the same columns with no index at all (not even the
 * UNIQUE on id): the floor the replay row is compared with.
 */
export async function rawSqliteInserts(file, n, sampleLine, { indexes = true, journal = 'wal' } = {}) {
  const schema = await ledgerSchema();
  const db = openDb(file, { journal });
  try {
    if (indexes) {
      db.exec(schema.events);
      for (const { sql } of schema.indexes) db.exec(sql);
    } else {
      db.exec(schema.bareEvents);
    }
    const insert = eventRowInserter(db, sampleLine);
    return await rate(n, () => {
      db.exec('BEGIN');
      for (let i = 0; i < n; i++) insert(i);
      db.exec('COMMIT');
    });
  } finally {
    removeDb(db, file);
  }
}

/** Ed25519 over 55-byte messages (an event signature's size) with node:crypto, one core. */
export function ed25519Material(count = 256) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const messages = Array.from({ length: count }, () => Buffer.concat([Buffer.from('sealed-ledger/event/v1\n'), crypto.randomBytes(32)]));
  const signatures = messages.map((m) => crypto.sign(null, m, privateKey));
  return { privateKey, publicKey, messages, signatures };
}

export async function nodeSignLoop(material, n) {
  const { privateKey, messages } = material;
  return rate(n, () => {
    for (let i = 0; i < n; i++) crypto.sign(null, messages[i % messages.length], privateKey);
  });
}

export async function nodeVerifyLoop(material, n) {
  const { publicKey, messages, signatures } = material;
  return rate(n, () => {
    for (let i = 0; i < n; i++) {
      if (!crypto.verify(null, messages[i % messages.length], publicKey, signatures[i % messages.length])) throw new Error('bad signature');
    }
  });
}
