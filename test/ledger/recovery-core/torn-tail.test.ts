// spec §7.3: moving a torn tail aside (src/ledger/torn-tail.ts) closes what it opens, and a copy
// that could not be written leaves events.jsonl untouched.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../../src/ledger/ledger.js';
import { NODE_FILE_IO, type FileIO } from '../../../src/store/file-io.js';
import { appendRaw, folderWith, removeFolders, tornFiles } from './folder.js';

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

/** NODE_FILE_IO that records every write to a file under torn/: [position, length]. */
function tornWriteLog(): FileIO & { writes: [number, number][] } {
  const paths = new Map<number, string>();
  const writes: [number, number][] = [];
  return {
    ...NODE_FILE_IO,
    writes,
    open(p, flags, mode) {
      const fd = NODE_FILE_IO.open(p, flags, mode);
      paths.set(fd, p);
      return fd;
    },
    write(fd, data, position) {
      if (paths.get(fd)?.includes(`${path.sep}torn${path.sep}`)) writes.push([position, data.length]);
      NODE_FILE_IO.write(fd, data, position);
    },
  };
}

describe('a damaged tail longer than the 1 MiB copy chunk (spec §7.2: a tail may be as long as the file)', () => {
  // 2.5 MiB and 7 bytes (the last chunk is partial); exactly 2 MiB (no partial chunk)
  for (const [label, length, writes] of [
    ['2.5 MiB + 7 bytes', 2.5 * MIB + 7, [[0, MIB], [MIB, MIB], [2 * MIB, 0.5 * MIB + 7]]],
    ['exactly 2 MiB', 2 * MIB, [[0, MIB], [MIB, MIB]]],
  ] as const) {
    it(`${label}: copied byte-identical, named by its whole hash, its offset and length reported, one write per chunk`, async () => {
      const f = await folderWith(2);
      const tail = noise(length, length);
      const before = fs.readFileSync(f.jsonl);
      const offset = appendRaw(f, tail);
      const io = tornWriteLog();
      const l = await Ledger.open({ dir: f.dir, keyring: f.keyring, io });
      await l.close();
      const hash = createHash('sha256').update(tail).digest('hex');
      const name = `events.jsonl.${offset}.${hash.slice(0, 16)}.torn`;
      expect(l.lastReconcile.tornTail).toMatchObject({ offset, length, savedTo: path.join(f.torn, name) });
      expect(tornFiles(f)).toEqual([name]);
      expect(fs.readFileSync(path.join(f.torn, name)).equals(tail)).toBe(true);
      expect(fs.readFileSync(f.jsonl).equals(before)).toBe(true);
      // memory stays bounded by the chunk, and each byte is written once
      expect(io.writes).toEqual(writes);
    });
  }
});
