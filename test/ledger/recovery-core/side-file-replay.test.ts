// spec §14.3.1: a replay into a missing ledger.db is built in a side file (ledger.db.replay-<pid>,
// rollback journal) under lock.db and published whole; a crash or an error before publication
// leaves ledger.db missing. The SIGKILL tests run the built package (npm test builds first).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Ledger } from '../../../src/ledger/ledger.js';
import { replayJsonlIntoSqlite } from '../../../src/ledger/replay.js';
import { rebuildProjection } from '../../../src/ledger/rebuild.js';
import { verifyLedger } from '../../../src/audit/verify-ledger.js';
import { dumpLedgerDb as dump } from '../ledger-helpers.js';
import { dropProjection, folderWith, rejection, removeFolders, type Folder } from './folder.js';

afterEach(() => {
  vi.restoreAllMocks();
  removeFolders();
});

beforeAll(() => {
  if (!fs.existsSync(new URL('../../../dist/index.js', import.meta.url))) throw new Error('run `npm run build` first (npm test does)');
});

const replayer = new URL('../children/replayer.mjs', import.meta.url).pathname;

function sideFiles(f: Folder): string[] {
  return fs.readdirSync(f.dir).filter((n) => /^ledger\.db\.(replay|rebuild)-/.test(n)).sort();
}

function journalMode(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('journal_mode', { simple: true }) as string;
  } finally {
    db.close();
  }
}

/** The same folder's projection built the ordinary way: an in-place bulk load into an empty ledger.db. */
async function inPlace(f: Folder) {
  const other = `${f.dir}-in-place`;
  fs.cpSync(f.dir, other, { recursive: true });
  try {
    fs.writeFileSync(path.join(other, 'ledger.db'), '');
    const report = await replayJsonlIntoSqlite({ dir: other }, { keyring: f.keyring });
    return { report, db: dump(path.join(other, 'ledger.db')) };
  } finally {
    fs.rmSync(other, { recursive: true, force: true });
  }
}

/** Runs the child until it reports that it is inside the load, then SIGKILLs it; returns its pid. */
function killMidLoad(f: Folder, mode: 'replay' | 'rebuild'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [replayer, f.dir, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n') && !child.killed) child.kill('SIGKILL');
    });
    child.on('close', (code, signal) => {
      const m = /^loading (\d+)$/m.exec(out);
      if (signal !== 'SIGKILL' || !m) reject(new Error(`child ended with ${code ?? signal} before the load: ${out} ${err}`));
      else resolve(Number(m[1]));
    });
  });
}

describe('replay into a missing ledger.db: a side file, published whole (spec §14.3.1)', () => {
  it('publishes a WAL-mode ledger.db identical to the in-place bulk load, and leaves no side or journal file', async () => {
    const f = await folderWith(200);
    dropProjection(f);
    const expected = await inPlace(f);
    let during: string[] = [];
    const report = await replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring, onProgress: () => (during = fs.readdirSync(f.dir).filter((n) => n.startsWith('ledger.db')).sort()) });
    // Mid-load: no ledger.db yet, and the side file has a rollback journal, not a WAL.
    expect(during).toEqual([`ledger.db.replay-${process.pid}`, `ledger.db.replay-${process.pid}-journal`]);
    // Before any reader opens it (a read-only connection leaves -wal and -shm behind).
    expect(fs.readdirSync(f.dir).filter((n) => n.startsWith('ledger.db'))).toEqual(['ledger.db']);
    const { durationMs: _a, ...got } = report;
    const { durationMs: _b, ...want } = expected.report;
    expect(got).toEqual(want);
    expect(dump(f.sqlite)).toEqual(expected.db);
    expect(journalMode(f.sqlite)).toBe('wal');
    expect(sideFiles(f)).toEqual([]);
    expect((await verifyLedger({ dir: f.dir }, { keyring: f.keyring })).ok).toBe(true);
  });

  it('removes side files that a dead process left, and only those', async () => {
    const f = await folderWith(20);
    dropProjection(f);
    for (const n of ['ledger.db.replay-1', 'ledger.db.replay-1-journal', 'ledger.db.replay-77-wal', 'ledger.db.replay-notes', 'ledger.db.replay-1.txt']) {
      fs.writeFileSync(path.join(f.dir, n), 'debris');
    }
    await replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring });
    expect(sideFiles(f)).toEqual(['ledger.db.replay-1.txt', 'ledger.db.replay-notes']);
  });

  it('waits for lock.db before it creates anything, and on LOCK_TIMEOUT leaves ledger.db missing', async () => {
    const f = await folderWith(20);
    dropProjection(f);
    const holder = new Database(path.join(f.dir, 'lock.db'));
    try {
      holder.exec('BEGIN IMMEDIATE');
      const e = await rejection(replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring, lockTimeoutMs: 150 }));
      expect(e).toMatchObject({ code: 'LOCK_TIMEOUT' });
      expect(fs.existsSync(f.sqlite)).toBe(false);
      expect(sideFiles(f)).toEqual([]);
    } finally {
      holder.close();
    }
  });

  describe('rebuildProjection holds lock.db from before its file is created until its swap is done', () => {
    it('no other writer can take lock.db while ledger.db is moved aside and the new one moved in', async () => {
      const f = await folderWith(20);
      const probe = new Database(path.join(f.dir, 'lock.db'));
      probe.pragma('busy_timeout = 0');
      const takenDuringSwap: boolean[] = [];
      const rename = fs.renameSync;
      vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
        try {
          probe.exec('BEGIN IMMEDIATE');
          probe.exec('ROLLBACK');
          takenDuringSwap.push(true);
        } catch {
          takenDuringSwap.push(false);
        }
        rename(from, to);
      });
      try {
        const report = await rebuildProjection(f.dir, { keyring: f.keyring });
        expect(report).toMatchObject({ replaced: true, inserted: 20 });
      } finally {
        probe.close();
      }
      // ledger.db moved aside, then the new file moved in: lock.db was held at each step.
      expect(takenDuringSwap.length).toBeGreaterThanOrEqual(2);
      expect(takenDuringSwap.every((t) => !t)).toBe(true);
      expect((await verifyLedger({ dir: f.dir }, { keyring: f.keyring })).ok).toBe(true);
    });

    it('waits for lock.db before it creates anything: LOCK_TIMEOUT changes nothing', async () => {
      const f = await folderWith(20);
      const before = dump(f.sqlite);
      const holder = new Database(path.join(f.dir, 'lock.db'));
      try {
        holder.exec('BEGIN IMMEDIATE');
        const e = await rejection(rebuildProjection(f.dir, { keyring: f.keyring, lockTimeoutMs: 150 }));
        expect(e).toMatchObject({ code: 'LOCK_TIMEOUT' });
        expect(sideFiles(f)).toEqual([]);
        expect(dump(f.sqlite)).toEqual(before);
      } finally {
        holder.close();
      }
    });

    it('removes rebuild files that a dead process left, and only those', async () => {
      const f = await folderWith(20);
      for (const n of ['ledger.db.rebuild-1', 'ledger.db.rebuild-1-journal', 'ledger.db.rebuild-77-wal', 'ledger.db.rebuild-8-shm', 'ledger.db.rebuild-notes', 'ledger.db.rebuild-1.txt']) {
        fs.writeFileSync(path.join(f.dir, n), 'debris');
      }
      const report = await rebuildProjection(f.dir, { keyring: f.keyring });
      expect(report).toMatchObject({ replaced: true, inserted: 20 });
      expect(sideFiles(f)).toEqual(['ledger.db.rebuild-1.txt', 'ledger.db.rebuild-notes']);
    });

    it('a symbolic link as lock.db is refused before it is opened', async () => {
      const f = await folderWith(20);
      const victim = path.join(f.dir, '..', `${path.basename(f.dir)}-victim`);
      fs.writeFileSync(victim, 'victim');
      try {
        fs.rmSync(path.join(f.dir, 'lock.db'), { force: true });
        fs.symlinkSync(victim, path.join(f.dir, 'lock.db'));
        const e = await rejection(rebuildProjection(f.dir, { keyring: f.keyring }));
        expect(e).toMatchObject({ code: 'LEDGER_CORRUPT' });
        expect(fs.readFileSync(victim, 'utf8')).toBe('victim');
        expect(sideFiles(f)).toEqual([]);
      } finally {
        fs.rmSync(victim, { force: true });
      }
    });
  });

  it('a ledger.db created by another process during the load is not replaced: the replay goes into it instead', async () => {
    const f = await folderWith(300);
    dropProjection(f);
    const expected = await inPlace(f);
    let created = false;
    let inode = 0;
    const report = await replayJsonlIntoSqlite({ dir: f.dir }, {
      keyring: f.keyring,
      onProgress: () => {
        if (created) return;
        created = true;
        // What a writer's open does before it waits for lock.db: create ledger.db in WAL mode.
        const db = new Database(f.sqlite);
        db.pragma('journal_mode = WAL');
        db.close();
        inode = fs.statSync(f.sqlite).ino;
      },
    });
    expect(created).toBe(true);
    // The same file, not a side file renamed over it: the writer's open connection would be left on a deleted file.
    expect(fs.statSync(f.sqlite).ino).toBe(inode);
    expect(report).toMatchObject({ inserted: 300, toSeq: 299, errors: [] });
    expect(dump(f.sqlite)).toEqual(expected.db);
    expect(sideFiles(f)).toEqual([]);
  });

  describe('a file system without hard links (link answers EPERM)', () => {
    const noLinks = (before?: () => void) => vi.spyOn(fs, 'linkSync').mockImplementation(() => {
      before?.();
      throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM', syscall: 'link' });
    });

    it('publishes by rename', async () => {
      const f = await folderWith(50);
      dropProjection(f);
      const link = noLinks();
      const report = await replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring });
      expect(link).toHaveBeenCalled();
      expect(report).toMatchObject({ inserted: 50, errors: [] });
      expect(sideFiles(f)).toEqual([]);
      expect(dump(f.sqlite).events).toHaveLength(50);
    });

    it('still replaces nothing: a ledger.db that appeared is replayed into', async () => {
      const f = await folderWith(50);
      dropProjection(f);
      let inode = 0;
      noLinks(() => {
        if (inode) return;
        fs.writeFileSync(f.sqlite, '');
        inode = fs.statSync(f.sqlite).ino;
      });
      const report = await replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring });
      expect(report).toMatchObject({ inserted: 50, errors: [] });
      expect(fs.statSync(f.sqlite).ino).toBe(inode);
      expect(sideFiles(f)).toEqual([]);
      expect(dump(f.sqlite).events).toHaveLength(50);
    });
  });

  describe('SIGKILL mid-load (a real process)', () => {
    it('replay: ledger.db stays missing; the next open heals from events.jsonl and the next replay removes the debris', async () => {
      const f = await folderWith(500);
      dropProjection(f);
      const pid = await killMidLoad(f, 'replay');
      expect(fs.existsSync(f.sqlite)).toBe(false);
      // The kill landed inside the load: the side file it was building is there.
      expect(sideFiles(f)).toContain(`ledger.db.replay-${pid}`);
      const expected = await inPlace(f);
      const again = await replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring });
      expect(again).toMatchObject({ inserted: 500, fromSeq: -1, errors: [] });
      expect(sideFiles(f)).toEqual([]);
      expect(dump(f.sqlite)).toEqual(expected.db);
    });

    it('replay, then Ledger.open instead of a second replay: the ledger opens with every event', async () => {
      const f = await folderWith(500);
      dropProjection(f);
      await killMidLoad(f, 'replay');
      const ledger = await Ledger.open({ dir: f.dir, keyring: f.keyring });
      try {
        expect(ledger.lastReconcile.replayed).toBe(500);
      } finally {
        await ledger.close();
      }
      expect((await verifyLedger({ dir: f.dir }, { keyring: f.keyring })).ok).toBe(true);
    });

    it('replay into an empty ledger.db (in place): it is still empty, with its indexes', async () => {
      const f = await folderWith(500);
      dropProjection(f);
      fs.writeFileSync(f.sqlite, '');
      await killMidLoad(f, 'replay');
      const db = dump(f.sqlite);
      expect(db).toMatchObject({ events: [], nodes: [], watermark: [{ seq: -1, offset: 0 }] });
      const schema = db.schema as { type: string; tbl_name: string; name: string }[];
      expect(schema.filter((s) => s.type === 'index' && s.tbl_name === 'events').map((s) => s.name).sort())
        .toEqual(['events_actor_seq', 'events_at', 'events_kind_seq', 'sqlite_autoindex_events_1']);
      expect(sideFiles(f)).toEqual([]);
    });

    it('rebuild: the old ledger.db is untouched', async () => {
      const f = await folderWith(500);
      const before = dump(f.sqlite);
      const pid = await killMidLoad(f, 'rebuild');
      expect(sideFiles(f)).toContain(`ledger.db.rebuild-${pid}`);
      expect(dump(f.sqlite)).toEqual(before);
      const report = await rebuildProjection(f.dir, { keyring: f.keyring });
      expect(report).toMatchObject({ replaced: true, inserted: 500 });
      expect(dump(f.sqlite)).toEqual(before);
      // The killed rebuild's file went with the next rebuild.
      expect(sideFiles(f)).toEqual([]);
    });
  });
});
