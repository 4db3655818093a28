// spec §7.3: moving a torn tail aside (src/ledger/torn-tail.ts) closes what it opens, and a copy
// that could not be written leaves events.jsonl untouched.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../../src/ledger/ledger.js';
import { NODE_FILE_IO, type FileIO } from '../../../src/store/file-io.js';
import { LedgerStateError } from '../../../src/errors.js';
import { appendRaw, folderWith, rejection, removeFolders, tornFiles } from './folder.js';

afterEach(removeFolders);

/** NODE_FILE_IO that remembers which descriptors are open, and can fail writes to torn/. */
function trackingIO(failTornWrites = false): FileIO & { open_: Map<number, string> } {
  const open_ = new Map<number, string>();
  return {
    ...NODE_FILE_IO,
    open_,
    open(p, flags, mode) {
      const fd = NODE_FILE_IO.open(p, flags, mode);
      open_.set(fd, p);
      return fd;
    },
    close(fd) {
      open_.delete(fd);
      NODE_FILE_IO.close(fd);
    },
    write(fd, data, position) {
      if (failTornWrites && open_.get(fd)?.includes(`${path.sep}torn${path.sep}`)) {
        throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC' });
      }
      NODE_FILE_IO.write(fd, data, position);
    },
  };
}

describe('moving a torn tail aside (spec §7.3)', () => {
  it('closes the torn file it wrote: after close() no descriptor opened through FileIO is left', async () => {
    const f = await folderWith(2);
    appendRaw(f, '{"torn');
    const io = trackingIO();
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring, io });
    expect(l.lastReconcile.tornTail).toMatchObject({ code: 'TORN_LINE', length: 6 });
    expect([...io.open_.values()].filter((p) => p.includes('torn'))).toEqual([]);
    await l.close();
    expect([...io.open_.values()]).toEqual([]);
  });

  it('fsyncs the ledger folder only when it created torn/, and torn/ each time', async () => {
    const f = await folderWith(2);
    const dirSyncs: string[] = [];
    const io: FileIO = { ...NODE_FILE_IO, syncDir: (d) => (dirSyncs.push(path.relative(f.dir, d) || '.'), NODE_FILE_IO.syncDir(d)) };
    for (const tail of ['{"first', '{"second']) {
      appendRaw(f, tail);
      dirSyncs.length = 0;
      const l = await Ledger.open({ dir: f.dir, keyring: f.keyring, io });
      await l.close();
      // one sync of the folder by every open (spec §7.1), plus the torn move's own
      expect(dirSyncs, tail).toEqual(tail === '{"first' ? ['.', 'torn', '.'] : ['.', 'torn']);
    }
  });

  it('a copy that cannot be written fails the open, closes the file and truncates nothing', async () => {
    const f = await folderWith(2);
    appendRaw(f, '{"torn');
    const before = fs.readFileSync(f.jsonl);
    const io = trackingIO(true);
    const e = await Ledger.open({ dir: f.dir, keyring: f.keyring, io }).then(() => undefined, (x: unknown) => x as Error & { code?: string; details?: Record<string, unknown> });
    // an OS error names the path and the errno (the project's rule for every OS error)
    const saved = path.join(f.torn, tornFiles(f)[0] ?? '?');
    expect(e).toMatchObject({ code: 'IO_ERROR', details: { path: saved, errno: 'ENOSPC' } });
    expect(e!.message).toContain(`cannot save the damaged tail of events.jsonl to ${saved}: ENOSPC`);
    expect((e as Error).cause).toMatchObject({ code: 'ENOSPC' });
    expect([...io.open_.values()]).toEqual([]);
    expect(fs.readFileSync(f.jsonl)).toEqual(before);
    expect(tornFiles(f)).toHaveLength(1); // created empty before the write failed; the tail is still in events.jsonl
  });
});

describe('an OS error while saving the tail names where it happened', () => {
  it('an error that is not an OS error (no errno) passes through unchanged, and nothing is truncated', async () => {
    const f = await folderWith(2);
    appendRaw(f, '{"torn');
    const before = fs.readFileSync(f.jsonl);
    const boom = new Error('not an OS error');
    const io: FileIO = { ...NODE_FILE_IO, syncDir: (d) => { if (d === f.torn) throw boom; NODE_FILE_IO.syncDir(d); } };
    await expect(Ledger.open({ dir: f.dir, keyring: f.keyring, io })).rejects.toBe(boom);
    expect(fs.readFileSync(f.jsonl)).toEqual(before);
  });

  it('an fsync of torn/ that fails: IO_ERROR naming torn/ and the errno, nothing truncated', async () => {
    const f = await folderWith(2);
    appendRaw(f, '{"torn');
    const before = fs.readFileSync(f.jsonl);
    const io: FileIO = {
      ...NODE_FILE_IO,
      syncDir(d) {
        if (d === f.torn) throw Object.assign(new Error(`EIO: i/o error, fsync`), { code: 'EIO' });
        NODE_FILE_IO.syncDir(d);
      },
    };
    const e = await Ledger.open({ dir: f.dir, keyring: f.keyring, io }).then(() => undefined, (x: unknown) => x);
    expect(e).toMatchObject({ code: 'IO_ERROR', details: { path: f.torn, errno: 'EIO' } });
    expect((e as Error).message).toContain(`to ${f.torn}: EIO`);
    expect(fs.readFileSync(f.jsonl)).toEqual(before);
  });
});

/** `n` bytes of printable ASCII without a newline, from a fixed seed, so no two chunks are alike. */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = 0x20 + ((x >>> 24) % 0x5f);
  }
  b.write('{"', 0, 'latin1');
  return b;
}

const MIB = 1 << 20;

type IOLog = [position: number, length: number, got?: number][];

/**
 * NODE_FILE_IO that records the reads of events.jsonl before and after the torn file is opened
 * (hashing, then copying) and the writes to the torn file: [position, length(, bytes read)].
 */
function moveIOLog(): FileIO & { hashReads: IOLog; copyReads: IOLog; writes: IOLog } {
  const paths = new Map<number, string>();
  const log = { hashReads: [] as IOLog, copyReads: [] as IOLog, writes: [] as IOLog };
  let copying = false;
  return {
    ...NODE_FILE_IO,
    ...log,
    open(p, flags, mode) {
      const fd = NODE_FILE_IO.open(p, flags, mode);
      paths.set(fd, p);
      if (p.includes(`${path.sep}torn${path.sep}`)) copying = true;
      return fd;
    },
    read(fd, into, position) {
      const got = NODE_FILE_IO.read(fd, into, position);
      if (paths.get(fd)?.endsWith(`${path.sep}events.jsonl`)) (copying ? log.copyReads : log.hashReads).push([position, into.length, got]);
      return got;
    },
    write(fd, data, position) {
      if (paths.get(fd)?.includes(`${path.sep}torn${path.sep}`)) log.writes.push([position, data.length]);
      NODE_FILE_IO.write(fd, data, position);
    },
    truncate(fd, length) {
      copying = false;
      NODE_FILE_IO.truncate(fd, length);
    },
  };
}

describe('a damaged tail longer than the 1 MiB copy chunk (spec §7.2: a tail may be as long as the file)', () => {
  // 2.5 MiB and 7 bytes (the last chunk is partial); exactly 2 MiB (no partial chunk)
  for (const [label, length, writes] of [
    ['2.5 MiB + 7 bytes', 2.5 * MIB + 7, [[0, MIB], [MIB, MIB], [2 * MIB, 0.5 * MIB + 7]]],
    ['exactly 2 MiB', 2 * MIB, [[0, MIB], [MIB, MIB]]],
  ] as const) {
    it(`${label}: copied byte-identical, named by its whole hash, its offset and length reported, read and written once a chunk at a time`, async () => {
      const f = await folderWith(2);
      const tail = noise(length, length);
      const before = fs.readFileSync(f.jsonl);
      const offset = appendRaw(f, tail);
      const io = moveIOLog();
      const l = await Ledger.open({ dir: f.dir, keyring: f.keyring, io });
      await l.close();
      const hash = createHash('sha256').update(tail).digest('hex');
      const name = `events.jsonl.${offset}.${hash.slice(0, 16)}.torn`;
      expect(l.lastReconcile.tornTail).toMatchObject({ offset, length, savedTo: path.join(f.torn, name) });
      expect(tornFiles(f)).toEqual([name]);
      expect(fs.readFileSync(path.join(f.torn, name)).equals(tail)).toBe(true);
      expect(fs.readFileSync(f.jsonl).equals(before)).toBe(true);
      // memory stays bounded by the chunk; each pass (hash, copy) reads the tail once, asks for
      // no byte past it, and each byte is written once
      const reads = writes.map(([at, n]) => [offset + at, n, n]);
      expect(io.hashReads.slice(-reads.length)).toEqual(reads);
      expect(io.copyReads.filter(([at]) => at >= offset)).toEqual(reads);
      expect(io.writes).toEqual(writes);
    });
  }
});

describe('torn/ and its files are opened without following a symlink an attacker planted', () => {
  it('a symlink at the name the tail will be saved under: refused (ELOOP), nothing written through it, nothing truncated', async () => {
    const f = await folderWith(2);
    const tail = Buffer.from('{"torn');
    const offset = appendRaw(f, tail);
    const before = fs.readFileSync(f.jsonl);
    // the name is predictable from the tail's bytes, which whoever writes the folder controls
    const saved = path.join(f.torn, `events.jsonl.${offset}.${createHash('sha256').update(tail).digest('hex').slice(0, 16)}.torn`);
    const victim = path.join(path.dirname(f.dir), 'victim');
    fs.writeFileSync(victim, 'keep me');
    fs.mkdirSync(f.torn);
    fs.symlinkSync(victim, saved);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'IO_ERROR', details: { path: saved, errno: 'ELOOP' } });
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep me');
    expect(fs.readFileSync(f.jsonl)).toEqual(before);
  });

  it('torn/ itself a dangling symlink: refused by the folder check before any mkdir, nothing created where it points, nothing truncated', async () => {
    const f = await folderWith(2);
    appendRaw(f, '{"torn');
    const before = fs.readFileSync(f.jsonl);
    const elsewhere = path.join(path.dirname(f.dir), 'elsewhere');
    fs.symlinkSync(elsewhere, f.torn);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    // spec §7.1: torn/ must be a real folder; so moving a tail aside never meets a link at torn/
    expect(e).toMatchObject({ code: 'LEDGER_CORRUPT', details: { path: f.torn } });
    expect(fs.existsSync(elsewhere)).toBe(false);
    expect(fs.readFileSync(f.jsonl)).toEqual(before);
  });
});

describe('only OS errors are wrapped; everything else passes through as thrown', () => {
  async function thrownFromTornWrite(thrown: unknown): Promise<unknown> {
    const f = await folderWith(2);
    appendRaw(f, '{"torn');
    const before = fs.readFileSync(f.jsonl);
    const io: FileIO = {
      ...NODE_FILE_IO,
      open(p, flags, mode) {
        if (p.startsWith(f.torn + path.sep)) throw thrown;
        return NODE_FILE_IO.open(p, flags, mode);
      },
    };
    const e = await Ledger.open({ dir: f.dir, keyring: f.keyring, io }).then(() => 'opened', (x: unknown) => x);
    expect(fs.readFileSync(f.jsonl)).toEqual(before);
    return e;
  }

  it('a thrown value that is not an Error, even null or one with an errno-like code', async () => {
    for (const thrown of [null, undefined, 'EIO', { code: 'EIO', message: 'plain object' }]) {
      expect(await thrownFromTornWrite(thrown)).toBe(thrown);
    }
  });

  it('an Error whose code is not a string', async () => {
    const e = Object.assign(new Error('numeric code'), { code: 5 });
    expect(await thrownFromTornWrite(e)).toBe(e);
  });

  it('an error of the ledger itself, though it has a string code', async () => {
    const e = new LedgerStateError('LEDGER_CORRUPT', 'already typed');
    expect(await thrownFromTornWrite(e)).toBe(e);
  });

  it('an fsync of the ledger folder, after creating torn/, that fails: IO_ERROR naming the ledger folder', async () => {
    const f = await folderWith(2);
    appendRaw(f, '{"torn');
    const before = fs.readFileSync(f.jsonl);
    let tornSynced = false;
    const io: FileIO = {
      ...NODE_FILE_IO,
      syncDir(d) {
        if (d === f.torn) tornSynced = true;
        else if (tornSynced && d === f.dir) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
        NODE_FILE_IO.syncDir(d);
      },
    };
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring, io }));
    expect(e).toMatchObject({ code: 'IO_ERROR', details: { path: f.dir, errno: 'EIO' } });
    expect(e.message).toBe(`cannot save the damaged tail of events.jsonl to ${f.dir}: EIO (EIO: i/o error, fsync); events.jsonl was not truncated`);
    expect(fs.readFileSync(f.jsonl)).toEqual(before);
  });
});
