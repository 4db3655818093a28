// spec §7.3: moving a torn tail aside (src/ledger/torn-tail.ts) closes what it opens, and a copy
// that could not be written leaves events.jsonl untouched.
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
