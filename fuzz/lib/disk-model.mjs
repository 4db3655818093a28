/**
 * A model of what survives a crash, behind the ledger's FileIO seam.
 *
 * Disk: for every file the ledger writes through the seam, the bytes as of its last fsync, and
 * for the ledger folder and torn/ the entries as of the last directory fsync (POSIX: creating a
 * file or directory is durable only once its parent directory is fsynced). A power cut keeps
 * every durable byte, and of the rest an arbitrary part: unsynced appended bytes vanish, survive
 * as a prefix, or as zeros (the size reached the disk, the data did not); with `holes`, a later
 * 512-byte sector may survive while an earlier one reads as zeros (writeback and the disk need
 * not keep order); unsynced truncations may be undone; entries created since the last directory
 * fsync may vanish. ledger.db is SQLite's business: a power cut restores one of the states it
 * had at a commit since the last power cut (WAL + synchronous=NORMAL may lose the latest commits,
 * never half a commit).
 *
 * SimProcess: one writer process. Its FileIO counts operations and dies at a chosen one (a write
 * writes a prefix first); its crash hook dies at a chosen named point. After dying, every
 * operation but close throws SimulatedCrash, as a dead process does nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { JSONL, QUARANTINE, SQLITE, TORN } from './oracle.mjs';

/** Entries whose durability SQLite or writeFileDurably manage on their own. */
const UNMODELLED_ENTRIES = /^(ledger\.db(-wal|-shm|-journal)?|keyring\.json|\..*\.tmp)$/;

/** A deterministic stream of choices from a fast-check generated seed (mulberry32). */
export function makeRng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), bool: (p = 0.5) => next() < p };
}

export class Disk {
  /**
   * @param {string} dir the ledger folder (created here: it is the test's, not the ledger's)
   * @param {{ holes?: boolean }} options
   */
  constructor(dir, options = {}) {
    this.dir = dir;
    this.holes = options.holes ?? false;
    this.jsonlPath = path.join(dir, JSONL);
    this.sqlitePath = path.join(dir, SQLITE);
    this.tornDir = path.join(dir, TORN);
    fs.mkdirSync(dir, { recursive: true });
    /** path -> bytes as of the last fsync (null: created, never synced). */
    this.durable = new Map();
    /** dir -> entry names as of the last directory fsync. */
    this.entries = new Map([[dir, new Set(fs.readdirSync(dir))]]);
    /** SQLite states at commits since the last power cut; [0] is the state the cut left. */
    this.snapshots = [this.captureSqlite('initial')];
    this.cut = false;
    this.powerCuts = 0;
    /** JSONL size at the last SQLite commit (the 'stale-size' mutants replay from it). */
    this.sizeAtCommit = 0;
  }

  track(file) {
    if (this.durable.has(file)) return;
    // A file first seen already existing survived the last cut (or predates the model).
    this.durable.set(file, fs.existsSync(file) ? fs.readFileSync(file) : null);
  }

  synced(file) {
    this.durable.set(file, fs.readFileSync(file));
  }

  dirSynced(dir) {
    this.entries.set(dir, new Set(fs.readdirSync(dir)));
  }

  /**
   * Run `f` (a library call that does its I/O without the seam, like replay) noting the files it
   * fsyncs, by fd, through /proc/self/fd. Where that does not exist, it is assumed to fsync
   * events.jsonl (test/crash/replay-fsync.bug.test.ts checks that it does).
   */
  async observeSyncs(f) {
    if (!fs.existsSync('/proc/self/fd')) {
      const r = await f();
      if (fs.existsSync(this.jsonlPath)) this.synced(this.jsonlPath);
      return r;
    }
    const original = { fdatasyncSync: fs.fdatasyncSync, fsyncSync: fs.fsyncSync };
    const note = (fd) => {
      try {
        const file = fs.readlinkSync(`/proc/self/fd/${fd}`);
        if (this.durable.has(file)) this.synced(file);
      } catch {
        // not a file we model
      }
    };
    fs.fdatasyncSync = (fd) => (original.fdatasyncSync(fd), note(fd));
    fs.fsyncSync = (fd) => (original.fsyncSync(fd), note(fd));
    try {
      return await f();
    } finally {
      Object.assign(fs, original);
    }
  }

  /** Bytes of `file` that a power cut now would certainly keep. */
  durableBytes(file) {
    return this.durable.get(file) ?? (this.durable.has(file) ? Buffer.alloc(0) : readOr(file));
  }

  captureSqlite(label) {
    const db = readOr(this.sqlitePath, null);
    return { label, db, wal: db ? readOr(this.sqlitePath + '-wal', null) : null };
  }

  /** Called after every SQLite commit a writer makes (crash hook, open, replay). */
  committed(label) {
    this.snapshots.push(this.captureSqlite(label));
    // Keep the base and the latest few: restoring any earlier commit is allowed, not required.
    if (this.snapshots.length > 8) this.snapshots.splice(1, 1);
    this.sizeAtCommit = fs.existsSync(this.jsonlPath) ? fs.statSync(this.jsonlPath).size : 0;
  }

  /**
   * The power cut itself. Every process must already be dead (connections closed). `rng` makes
   * every choice; `sqliteBack` picks the restored commit counting back from the latest.
   */
  powerLoss(rng, sqliteBack) {
    this.powerCuts++;
    const lost = [];
    for (const dir of [this.dir, this.tornDir]) {
      if (!fs.existsSync(dir)) continue;
      const durable = this.entries.get(dir) ?? new Set();
      for (const name of fs.readdirSync(dir)) {
        if (dir === this.dir && UNMODELLED_ENTRIES.test(name)) continue;
        if (!durable.has(name) && rng.bool()) {
          fs.rmSync(path.join(dir, name), { recursive: true, force: true });
          lost.push(path.relative(this.dir, path.join(dir, name)));
        }
      }
    }
    for (const [file, durable] of this.durable) {
      if (!fs.existsSync(file)) {
        this.durable.delete(file);
        continue;
      }
      const now = fs.readFileSync(file);
      const survivor = survive(durable ?? Buffer.alloc(0), now, rng, this.holes);
      if (!survivor.equals(now)) fs.writeFileSync(file, survivor);
    }
    const snap = this.snapshots[Math.max(0, this.snapshots.length - 1 - sqliteBack)];
    restoreSqlite(this.sqlitePath, snap);
    // What is on disk after the cut is, by definition, what the disk holds.
    for (const file of [...this.durable.keys()]) this.durable.set(file, readOr(file));
    for (const dir of [this.dir, this.tornDir]) if (fs.existsSync(dir)) this.dirSynced(dir);
    this.snapshots = [this.captureSqlite(`restored ${snap.label}`)];
    this.sizeAtCommit = fs.existsSync(this.jsonlPath) ? fs.statSync(this.jsonlPath).size : 0;
    this.cut = false;
    return { lostEntries: lost, sqliteRestored: snap.label };
  }
}

function readOr(file, fallback = Buffer.alloc(0)) {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if (e.code === 'ENOENT') return fallback;
    throw e;
  }
}

function commonPrefix(a, b) {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

// Sectors: a disk without atomic 4 KiB writes persists 512-byte sectors in any order.
const BLOCK = 512;

/** What of `now` survives when only `durable` was fsynced. */
export function survive(durable, now, rng, holes = false) {
  const p = commonPrefix(durable, now);
  if (p === durable.length) return Buffer.concat([durable, mangle(now.subarray(p), p, rng, holes)]);
  // Changed below the synced length since the last fsync (a truncation): it may not have stuck.
  if (rng.bool()) return durable;
  return Buffer.concat([now.subarray(0, p), mangle(now.subarray(p), p, rng, holes)]);
}

/** `unsynced` starts at file offset `at`. */
function mangle(unsynced, at, rng, holes) {
  if (unsynced.length === 0) return unsynced;
  const k = rng.bool(0.2) ? unsynced.length : rng.int(0, unsynced.length);
  const kept = Buffer.from(unsynced.subarray(0, k));
  const mode = rng.int(0, holes ? 3 : 2);
  if (mode === 0) {
    kept.fill(0); // the size reached the disk, the data did not
  } else if (mode === 1 && holes) {
    // Whole blocks written back out of order: an earlier one lost, a later one kept.
    const first = Math.ceil(at / BLOCK) * BLOCK;
    const blocks = Math.floor((at + kept.length - first) / BLOCK);
    if (blocks > 0) {
      const b = rng.int(0, blocks - 1);
      kept.fill(0, first - at + b * BLOCK, first - at + (b + 1) * BLOCK);
    }
  }
  // otherwise a clean prefix
  return kept;
}

function restoreSqlite(file, snap) {
  for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(file + suffix, { force: true });
  if (snap.db) fs.writeFileSync(file, snap.db);
  if (snap.wal) fs.writeFileSync(file + '-wal', snap.wal);
}

/**
 * A crash plan: die at the `nth` (1-based) FileIO operation of this process, or at its `nth`
 * write to events.jsonl (a write keeps the first `partial` fraction of its bytes; -1: all but the last), or at the
 * `nth` time the named crash point is reached. `kind: 'power'` makes the death a power cut.
 * @typedef {{ at: 'io' | 'jsonl-write', nth: number, partial?: number, kind?: string } | { at: 'point', point: string, nth: number, kind?: string } | undefined} CrashPlan
 */

/**
 * Deliberately broken FileIO behaviours, to prove each property can fail (test/crash/mutants
 * and `npm run fuzz -- --mutant <name>`).
 */
export const MUTANTS = {
  'sync-noop': 'fsync of events.jsonl does nothing: SQLite commits lines that are not durable',
  'drop-jsonl-write': 'writes to events.jsonl are dropped: SQLite holds events JSONL lacks',
  'corrupt-first-line': 'the first of several lines written at once gets a payload byte changed',
  enospc: 'every third write to events.jsonl fails with ENOSPC',
  'stale-size': 'events.jsonl reports its size as of the last SQLite commit: reconcile skips the tail',
  'stale-size-once': 'the same, for the first open after a crash only',
  'truncate-noop': 'truncating events.jsonl does nothing: a torn tail stays in the file',
  'truncate-short': 'truncating events.jsonl cuts one byte too many',
  'drop-torn-write': 'the bytes written to torn/ are dropped',
  'drop-quarantine-write': 'the records written to quarantine.jsonl are dropped',
};

let nextProcessId = 1;

export class SimProcess {
  /**
   * @param {Disk} disk
   * @param {object} lib the library under test (SimulatedCrash, NODE_FILE_IO)
   * @param {{ plan?: CrashPlan, mutant?: string, onPoint?: (point: string, proc: SimProcess) => void, onCommit?: (proc: SimProcess) => void }} options
   */
  constructor(disk, lib, options = {}) {
    this.id = nextProcessId++;
    this.disk = disk;
    this.lib = lib;
    this.mutant = options.mutant;
    this.onPoint = options.onPoint;
    this.dead = false;
    this.diedAt = undefined;
    this.fds = new Map();
    this.log = [];
    this.arm(options.plan);
    this.io = this.makeIO(lib.NODE_FILE_IO);
    this.hook = (point) => this.point(point);
  }

  /** (Re)arm a crash plan; operation and point counts restart. */
  arm(plan) {
    this.plan = plan;
    this.ops = 0;
    this.jsonlWrites = 0;
    this.points = new Map();
  }

  get alive() {
    return !this.dead && !this.disk.cut;
  }

  die(where) {
    this.dead = true;
    this.diedAt ??= where;
    if (this.plan?.kind === 'power') this.disk.cut = true;
    throw new this.lib.SimulatedCrash(where);
  }

  /** A dead process does nothing: every step after death throws. */
  step(op, detail, file) {
    if (this.dead) throw new this.lib.SimulatedCrash(`${this.diedAt} (already dead)`);
    if (this.disk.cut) {
      this.dead = true;
      this.diedAt ??= 'power cut';
      throw new this.lib.SimulatedCrash('power cut');
    }
    this.ops++;
    if (this.log.length > 40) this.log.shift();
    this.log.push(`${this.ops}:${op}${detail ? ` ${detail}` : ''}`);
    if (op === 'write' && file === this.disk.jsonlPath) this.jsonlWrites++;
    const fire = this.plan?.at === 'io' ? this.plan.nth === this.ops
      : this.plan?.at === 'jsonl-write' ? op === 'write' && file === this.disk.jsonlPath && this.plan.nth === this.jsonlWrites
      : false;
    return fire;
  }

  point(point) {
    if (this.dead || this.disk.cut) this.step(point);
    if (this.log.length > 40) this.log.shift();
    this.log.push(`@${point}`);
    this.onPoint?.(point, this);
    if (point === 'sqlite.committed') this.disk.committed(`p${this.id} commit`);
    const n = (this.points.get(point) ?? 0) + 1;
    this.points.set(point, n);
    if (this.plan?.at === 'point' && this.plan.point === point && this.plan.nth === n) this.die(point);
  }

  /** Close what a dead process left open (the ledger closes its own fds in die()). */
  closeLeftovers() {
    for (const fd of this.fds.keys()) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed by the ledger
      }
    }
    this.fds.clear();
  }

  makeIO(base) {
    const self = this;
    const disk = this.disk;
    const fileOf = (fd) => self.fds.get(fd);
    const isJsonl = (fd) => fileOf(fd) === disk.jsonlPath;
    return {
      open(file, flags, mode) {
        const crash = self.step('open', path.basename(file));
        if (crash) self.die(`open ${path.basename(file)}`);
        disk.track(file);
        const fd = base.open(file, flags, mode);
        self.fds.set(fd, file);
        return fd;
      },
      close(fd) {
        // Closing is what dying does too: always allowed, never a crash point.
        self.fds.delete(fd);
        base.close(fd);
      },
      size(fd) {
        if (self.step('size', path.basename(fileOf(fd) ?? '?'))) self.die('size');
        const real = base.size(fd);
        if (isJsonl(fd) && self.mutant === 'stale-size') return Math.min(real, disk.sizeAtCommit);
        return real;
      },
      write(fd, data, position) {
        const file = fileOf(fd);
        const crash = self.step('write', `${path.basename(file ?? '?')} ${data.length}@${position}`, file);
        if (crash) {
          const keep = self.plan.partial === -1 ? data.length - 1 : Math.floor((self.plan.partial ?? 0) * data.length);
          if (keep > 0) base.write(fd, data.subarray(0, keep), position);
          self.die(`write ${path.basename(file ?? '?')} (${keep}/${data.length} bytes)`);
        }
        if (file === disk.jsonlPath) {
          if (self.mutant === 'drop-jsonl-write') return;
          if (self.mutant === 'enospc' && self.jsonlWrites % 3 === 0) {
            const e = new Error('ENOSPC: no space left on device, write');
            e.code = 'ENOSPC';
            throw e;
          }
          if (self.mutant === 'corrupt-first-line' && data.indexOf(0x0a) < data.length - 1) {
            // Damage the first of several lines (a payload byte), leaving the last one intact.
            const copy = Buffer.from(data);
            const at = copy.indexOf('"payload":') + 10;
            copy[at] = copy[at] === 0x31 ? 0x32 : 0x31;
            return base.write(fd, copy, position);
          }
        }
        if (self.mutant === 'drop-torn-write' && file?.startsWith(disk.tornDir + path.sep)) return;
        if (self.mutant === 'drop-quarantine-write' && path.basename(file ?? '') === QUARANTINE) return;
        base.write(fd, data, position);
      },
      read(fd, into, position) {
        if (self.step('read')) self.die('read');
        return base.read(fd, into, position);
      },
      sync(fd) {
        if (self.step('sync', path.basename(fileOf(fd) ?? '?'))) self.die('sync');
        // No real fdatasync: durability is what this model says it is.
        if (self.mutant === 'sync-noop' && isJsonl(fd)) return;
        disk.synced(fileOf(fd));
      },
      truncate(fd, length) {
        if (self.step('truncate', `${path.basename(fileOf(fd) ?? '?')} ${length}`)) self.die('truncate');
        if (self.mutant === 'truncate-noop' && isJsonl(fd)) return;
        if (self.mutant === 'truncate-short' && isJsonl(fd) && length > 0) return base.truncate(fd, length - 1);
        base.truncate(fd, length);
      },
      syncDir(dir) {
        if (self.step('syncDir', path.basename(dir))) self.die('syncDir');
        disk.dirSynced(dir);
      },
    };
  }
}
