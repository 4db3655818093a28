/**
 * events.jsonl: the canonical, append-only event file (spec §7). Byte offsets are the file's
 * coordinates: the SQLite watermark records the offset up to which the projection is complete.
 */
import type { FileIO } from './file-io.js';

export interface JsonlLine {
  /** The line's text without its "\n". */
  text: string;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** Byte length including the "\n". */
  length: number;
  /** 1-based line number, when the scan started at offset 0. */
  lineNo?: number;
  /** Set when the bytes are not valid UTF-8. */
  badUtf8?: true;
}

/** Bytes after the last "\n": an append that did not finish (spec §7.3). */
export interface TornTail {
  offset: number;
  bytes: Buffer;
}

const NEWLINE = 0x0a;
const CHUNK = 1 << 20;

export class JsonlFile {
  private constructor(
    readonly path: string,
    private readonly io: FileIO,
    private readonly fd: number,
  ) {}

  static open(path: string, io: FileIO, options: { readOnly?: boolean; create?: boolean } = {}): JsonlFile {
    // Not O_APPEND: every write goes to the offset verified under the writer lock (spec §13.2).
    if (options.create && !options.readOnly) io.close(io.open(path, 'a', 0o644));
    return new JsonlFile(path, io, io.open(path, options.readOnly ? 'r' : 'r+'));
  }

  size(): number {
    return this.io.size(this.fd);
  }

  /** Write `data` at `offset` (the verified end of the file). Not durable until sync(). */
  writeAt(offset: number, data: Uint8Array): void {
    this.io.write(this.fd, data, offset);
  }

  sync(): void {
    this.io.sync(this.fd);
  }

  truncate(length: number): void {
    this.io.truncate(this.fd, length);
  }

  readRange(offset: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = this.io.read(this.fd, buf.subarray(got), offset + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  }

  /**
   * Stream complete lines from `from` to the end as it is now, in bounded memory. A final
   * fragment without "\n" is returned through `onTornTail` instead of as a line.
   */
  *lines(from = 0, onTornTail?: (tail: TornTail) => void, end = this.size()): Generator<JsonlLine> {
    let position = from;
    let lineNo = from === 0 ? 1 : undefined;
    let carry: Buffer = Buffer.alloc(0);
    let carryOffset = from;
    const chunk = Buffer.allocUnsafe(CHUNK);
    while (position < end) {
      const n = this.io.read(this.fd, chunk.subarray(0, Math.min(CHUNK, end - position)), position);
      if (n === 0) break;
      const data: Buffer = carry.length ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (let nl = data.indexOf(NEWLINE, start); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
        const line: JsonlLine = {
          text: data.toString('utf8', start, nl),
          offset: carryOffset + start,
          length: nl - start + 1,
        };
        if (lineNo !== undefined) line.lineNo = lineNo++;
        // U+FFFD in the text may stand for bytes that were never valid UTF-8: those bytes could
        // not have been canonical, and must not compare equal to a line that truly holds U+FFFD.
        if (line.text.includes('\ufffd') && !data.subarray(start, nl).equals(Buffer.from(line.text))) line.badUtf8 = true;
        yield line;
        start = nl + 1;
      }
      carry = Buffer.from(data.subarray(start));
      carryOffset += start;
      position += n;
    }
    if (carry.length > 0) onTornTail?.({ offset: carryOffset, bytes: carry });
  }

  close(): void {
    this.io.close(this.fd);
  }
}

