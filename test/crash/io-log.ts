/**
 * A FileIO that records what the ledger does to its folder ("open events.jsonl r+", "sync
 * events.jsonl", "syncDir .", "truncate events.jsonl 120", ...) and can die at a chosen step, for
 * the small tests that pin one ordering (the *.bug.test.ts files).
 */
import path from 'node:path';
import { NODE_FILE_IO, SimulatedCrash, type FileIO } from '../../src/testing.js';

export interface LoggedIO {
  io: FileIO;
  log: string[];
  /** Crash hook that records the point (and dies there when `dieAt` names it). */
  hook: (point: string) => void;
}

/**
 * `dir` is the ledger folder (names are logged relative to it). `dieAt(entry)` returns a number
 * of bytes to keep of a write (or 0) to die at that step, or undefined to go on.
 */
export function loggedIO(dir: string, dieAt: (entry: string) => number | undefined = () => undefined): LoggedIO {
  const log: string[] = [];
  const names = new Map<number, string>();
  const rel = (p: string) => path.relative(dir, p) || '.';
  const step = (entry: string, write?: () => void, keep?: (n: number) => void) => {
    log.push(entry);
    const n = dieAt(entry);
    if (n === undefined) return write?.();
    keep?.(n);
    throw new SimulatedCrash(entry);
  };
  const io: FileIO = {
    open(p, flags, mode) {
      const fd = (step(`open ${rel(p)} ${flags}`), NODE_FILE_IO.open(p, flags, mode));
      names.set(fd, rel(p));
      return fd;
    },
    close: (fd) => NODE_FILE_IO.close(fd),
    size: (fd) => NODE_FILE_IO.size(fd),
    read: (fd, into, position) => NODE_FILE_IO.read(fd, into, position),
    write: (fd, data, position) =>
      step(`write ${names.get(fd)}`, () => NODE_FILE_IO.write(fd, data, position), (n) => NODE_FILE_IO.write(fd, data.subarray(0, n), position)),
    sync: (fd) => step(`sync ${names.get(fd)}`, () => NODE_FILE_IO.sync(fd)),
    truncate: (fd, length) => step(`truncate ${names.get(fd)} ${length}`, () => NODE_FILE_IO.truncate(fd, length)),
    syncDir: (d) => step(`syncDir ${rel(d)}`, () => NODE_FILE_IO.syncDir(d)),
  };
  const hook = (point: string) => step(`@${point}`);
  return { io, log, hook };
}
