/**
 * events.jsonl: the canonical, append-only event file (spec §7). Byte offsets are the file's
 * coordinates: the SQLite watermark records the offset up to which the projection is complete.
 */
import fs from 'node:fs';
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
  /** Longer than the reader's limit: `text` is empty, the bytes were never buffered (spec §7.2). */
  tooLong?: true;
}

/** Bytes after the last "\n": an append that did not finish (spec §7.3). */
export interface TornTail {
  offset: number;
  /** Bytes from `offset` to the end of the scan. */
  length: number;
  /** The fragment; empty when it is longer than the reader's limit (then `tooLong`). */
  bytes: Buffer;
  tooLong?: true;
}

const NEWLINE = 0x0a;
const NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const CHUNK = 1 << 20;

export class JsonlFile {
  private constructor(
    readonly path: string,
    private readonly io: FileIO,
    private readonly fd: number,
  ) {}

  static open(path: string, io: FileIO, options: { readOnly?: boolean; create?: boolean } = {}): JsonlFile {
    const c = fs.constants;
    // O_NOFOLLOW: a symlink planted in the folder fails the open (ELOOP) instead of making the
    // writer truncate and overwrite the file it names (spec §7.1).
    if (options.create && !options.readOnly) io.close(io.open(path, c.O_WRONLY | c.O_CREAT | c.O_APPEND | NOFOLLOW, 0o644));
    // Not O_APPEND: every write goes to the offset verified under the writer lock (spec §13.2).
    return new JsonlFile(path, io, io.open(path, (options.readOnly ? c.O_RDONLY : c.O_RDWR) | NOFOLLOW));
  }

  /**
   * Whether the path still names the file this one was opened as (same device and inode). A
   * writer whose file was replaced or removed under it must not append to the orphan (spec §13.2).
   */
  stillAtPath(): boolean {
    let atPath: fs.Stats | undefined;
    try {
      atPath = fs.statSync(this.path, { throwIfNoEntry: false });
    } catch {
      return false;
    }
    if (atPath === undefined) return false;
    // An open descriptor's device and inode never change: one fstat serves every later flush.
    const own = (this.#own ??= fs.fstatSync(this.fd));
    return own.dev === atPath.dev && own.ino === atPath.ino;
  }

  #own: fs.Stats | undefined;

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
   * fragment without "\n" is returned through `onTornTail` instead of as a line. A line longer
   * than `maxLineBytes` is not buffered past the limit: it is yielded as `tooLong` once its
   * newline is found, so memory stays O(limit + chunk) and time linear on any input.
   */
  *lines(from = 0, onTornTail?: (tail: TornTail) => void, end = this.size(), maxLineBytes = Infinity): Generator<JsonlLine> {
    let position = from;
    let lineNo = from === 0 ? 1 : undefined;
    // The start of the current line, held as pieces and joined once: concatenating per chunk
    // would copy a long line quadratically.
    let pieces: Buffer[] = [];
    let carried = 0;
    let skipping = false;
    let lineStart = from;
    const chunk = Buffer.allocUnsafe(CHUNK);
    while (position < end) {
      const n = this.io.read(this.fd, chunk.subarray(0, Math.min(CHUNK, end - position)), position);
      if (n === 0) break;
      const data = chunk.subarray(0, n);
      let start = 0;
      for (let nl = data.indexOf(NEWLINE, start); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
        const size = carried + nl - start;
        let line: JsonlLine;
        if (skipping || size > maxLineBytes) {
          line = { text: '', offset: lineStart, length: size + 1, tooLong: true };
        } else {
          const bytes = carried > 0 ? Buffer.concat([...pieces, data.subarray(start, nl)]) : data.subarray(start, nl);
          line = { text: bytes.toString('utf8'), offset: lineStart, length: size + 1 };
          // U+FFFD in the text may stand for bytes that were never valid UTF-8: those bytes could
          // not have been canonical, and must not compare equal to a line that truly holds U+FFFD.
          if (line.text.includes('\ufffd') && !bytes.equals(Buffer.from(line.text))) line.badUtf8 = true;
        }
        if (lineNo !== undefined) line.lineNo = lineNo++;
        pieces = [];
        carried = 0;
        skipping = false;
        start = nl + 1;
        lineStart = position + start;
        yield line;
      }
      if (start < n) {
        carried += n - start;
        if (!skipping && carried > maxLineBytes) {
          skipping = true;
          pieces = [];
        }
        // Copied: the chunk buffer is reused by the next read.
        if (!skipping) pieces.push(Buffer.from(data.subarray(start)));
      }
      position += n;
    }
    if (carried > 0) {
      onTornTail?.(skipping
        ? { offset: lineStart, length: carried, bytes: Buffer.alloc(0), tooLong: true }
        : { offset: lineStart, length: carried, bytes: Buffer.concat(pieces) });
    }
  }

  close(): void {
    this.io.close(this.fd);
  }
}

