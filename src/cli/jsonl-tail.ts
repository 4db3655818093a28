/**
 * Reading the end of events.jsonl without reading the rest (spec §15.1 tail): complete lines
 * only, since bytes after the last newline are an append still in flight or a torn tail.
 */
import fs from 'node:fs';

const CHUNK = 64 * 1024;

/** End offset of the last complete line at or before `size` (0 when there is none). */
export function completeEnd(fd: number, size: number): number {
  const buf = Buffer.allocUnsafe(CHUNK);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - CHUNK);
    const n = fs.readSync(fd, buf, 0, end - start, start);
    const nl = buf.subarray(0, n).lastIndexOf(0x0a);
    if (nl !== -1) return start + nl + 1;
    end = start;
  }
  return 0;
}

/**
 * The last `count` complete lines ending at `end` (a line boundary), reading backwards in
 * chunks: memory is O(count x line length), not O(file).
 */
export function lastLines(fd: number, end: number, count: number): { lines: Buffer[]; start: number } {
  const parts: Buffer[] = [];
  let start = end;
  let newlines = 0;
  // A line is complete when the newline before it is found, so look for count + 1 newlines.
  while (start > 0 && newlines <= count) {
    const from = Math.max(0, start - CHUNK);
    const buf = Buffer.allocUnsafe(start - from);
    fs.readSync(fd, buf, 0, buf.length, from);
    for (let i = buf.length - 1; i >= 0; i--) if (buf[i] === 0x0a) newlines++;
    parts.unshift(buf);
    start = from;
  }
  const text = Buffer.concat(parts);
  const lines: Buffer[] = [];
  let lineEnd = text.length;
  for (let i = text.length - 2; lineEnd > 0 && lines.length < count; i--) {
    if (i < 0 || text[i] === 0x0a) {
      lines.unshift(text.subarray(i + 1, lineEnd));
      lineEnd = i + 1;
    }
  }
  return { lines, start: start + lineEnd };
}
