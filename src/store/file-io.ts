/**
 * The seam between the ledger and the file system (spec §13.4). Production uses NODE_FILE_IO;
 * the crash suites wrap it to stop the process model at any step, or to forget unsynced bytes.
 */
import fs from 'node:fs';

export interface FileIO {
  /** `flags` as fs.openSync takes them; numeric flags carry O_NOFOLLOW for ledger files. */
  open(path: string, flags: string | number, mode?: number): number;
  close(fd: number): void;
  size(fd: number): number;
  /** Write all of `data` at `position`. */
  write(fd: number, data: Uint8Array, position: number): void;
  read(fd: number, into: Uint8Array, position: number): number;
  /** Make written bytes durable (fdatasync). */
  sync(fd: number): void;
  truncate(fd: number, length: number): void;
  /** fsync a directory so a created or renamed entry is durable. */
  syncDir(dir: string): void;
}

export const NODE_FILE_IO: FileIO = {
  open: (path, flags, mode) => fs.openSync(path, flags, mode),
  close: (fd) => fs.closeSync(fd),
  size: (fd) => fs.fstatSync(fd).size,
  write(fd, data, position) {
    let done = 0;
    while (done < data.length) {
      done += fs.writeSync(fd, data, done, data.length - done, position + done);
    }
  },
  read: (fd, into, position) => fs.readSync(fd, into, 0, into.length, position),
  sync: (fd) => fs.fdatasyncSync(fd),
  truncate: (fd, length) => fs.ftruncateSync(fd, length),
  syncDir(dir) {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
};
