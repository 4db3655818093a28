/**
 * Side files of one JCS record per line (checkpoints.jsonl, spec §12.5; witness.jsonl, §20.10):
 * a record is appended and fsynced before anyone hears of it, and readers skip a torn last line.
 * A crash mid-append leaves such a line, and the next append writes over it: appended after it,
 * the two would make one line that is no record, and every reader after that refuses the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FileIO } from './file-io.js';

const CHUNK = 4096;

/** Append `record` (one line, without its "\n") to `file`, first cutting a torn last line. */
export function appendRecordLine(file: string, record: string, io: FileIO): void {
  const c = fs.constants;
  const created = !fs.existsSync(file);
  // Never through a link (spec §7.1): the folder's check at open does not cover a link planted since.
  const fd = io.open(file, c.O_RDWR | c.O_CREAT | (c.O_NOFOLLOW ?? 0), 0o644);
  try {
    const size = io.size(fd);
    const end = endOfLastLine(fd, size, io);
    if (end < size) io.truncate(fd, end);
    io.write(fd, Buffer.from(record + '\n'), end);
    io.sync(fd);
  } finally {
    io.close(fd);
  }
  if (created) io.syncDir(path.dirname(file));
}

/** The offset just past the last "\n" in the file's first `size` bytes; 0 when there is none. */
function endOfLastLine(fd: number, size: number, io: FileIO): number {
  const buf = Buffer.alloc(CHUNK);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - CHUNK);
    const n = io.read(fd, buf.subarray(0, end - start), start);
    const nl = buf.subarray(0, n).lastIndexOf(0x0a);
    if (nl !== -1) return start + nl + 1;
    end = start;
  }
  return 0;
}
