/**
 * events.jsonl read by offset for shipping (spec §20.3): batches of whole lines, bounded by a
 * line count and a byte count, never past the durable end the caller gives, so memory stays flat
 * however long the backlog. The bytes go out exactly as the ledger wrote them.
 */
import fs from 'node:fs/promises';
import { LedgerStateError } from '../errors.js';

const NEWLINE = 0x0a;
const SCAN_CHUNK = 1 << 20;

export interface Batch {
  /** Whole lines, each ending in "\n", byte for byte from the file. */
  bytes: Buffer;
  lines: number;
  firstSeq: number;
  lastSeq: number;
  /** Offset just past the last line. */
  endOffset: number;
  /** `at` of the first line (the oldest event not yet shipped). */
  firstAt: string | undefined;
}

export interface Position {
  seq: number;
  /** Offset of the line holding `seq`. */
  offset: number;
}

/** What a line says about itself, read without trusting it further (the collector verifies). */
export function lineFields(line: Buffer | string): { seq: number; at: string | undefined } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof line === 'string' ? line : line.toString('utf8'));
  } catch (e) {
    throw new LedgerStateError('LEDGER_CORRUPT', 'events.jsonl holds a line that is not JSON; the shipper sends only what it can place by seq', { cause: e });
  }
  const seq = (parsed as { seq?: unknown } | null)?.seq;
  const at = (parsed as { at?: unknown } | null)?.at;
  if (!Number.isSafeInteger(seq) || (seq as number) < 0) {
    throw new LedgerStateError('LEDGER_CORRUPT', 'events.jsonl holds a line without a valid seq');
  }
  return { seq: seq as number, at: typeof at === 'string' ? at : undefined };
}

export class EventsReader {
  /** Average line length of the last batch: how much to read for the next one. */
  private lineBytes = 256;

  private constructor(
    readonly path: string,
    private readonly fh: fs.FileHandle,
  ) {}

  static async open(path: string): Promise<EventsReader> {
    try {
      return new EventsReader(path, await fs.open(path, 'r'));
    } catch (e) {
      throw ioError(path, 'open', e);
    }
  }

  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  /** Make what this process can see of the file durable (a reader's fsync, spec §20.3). */
  async sync(): Promise<void> {
    try {
      await this.fh.datasync();
    } catch (e) {
      throw ioError(this.path, 'fdatasync', e);
    }
  }

  private async readAt(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      let n: number;
      try {
        ({ bytesRead: n } = await this.fh.read(buf, got, length - got, offset + got));
      } catch (e) {
        throw ioError(this.path, 'read', e);
      }
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  }

  /**
   * Where line `seq` starts, scanning forward from `from` (a known line start), streaming. When
   * the file up to `end` has fewer lines, returns the count found and where the next would start.
   * Line n holds seq n in a ledger (spec §7.2); the line found is checked to say so.
   */
  async locate(seq: number, end: number, from: Position = { seq: 0, offset: 0 }): Promise<{ found: true; offset: number } | { found: false; count: number; offset: number }> {
    if (from.seq > seq) from = { seq: 0, offset: 0 };
    let line = from.seq;
    let offset = from.offset;
    let position = from.offset;
    while (line < seq && position < end) {
      const chunk = await this.readAt(position, Math.min(SCAN_CHUNK, end - position));
      if (chunk.length === 0) break;
      let i = chunk.indexOf(NEWLINE);
      while (i !== -1 && line < seq) {
        line++;
        offset = position + i + 1;
        i = chunk.indexOf(NEWLINE, i + 1);
      }
      position += chunk.length;
    }
    if (line < seq) return { found: false, count: line, offset };
    const first = await this.firstLine(offset, end);
    if (first === undefined) return { found: false, count: line, offset };
    const actual = lineFields(first).seq;
    if (actual !== seq) {
      if (from.offset !== 0) return this.locate(seq, end); // a stale anchor: rescan from the start
      throw new LedgerStateError('LEDGER_CORRUPT', `line ${seq + 1} of events.jsonl holds seq ${actual}, not ${seq}`, { details: { seq, actual, offset } });
    }
    return { found: true, offset };
  }

  /** The complete line starting at `offset` (without "\n"), or undefined when none ends before `end`. */
  private async firstLine(offset: number, end: number): Promise<Buffer | undefined> {
    let want = 64 * 1024;
    for (;;) {
      const buf = await this.readAt(offset, Math.min(want, end - offset));
      const nl = buf.indexOf(NEWLINE);
      if (nl !== -1) return buf.subarray(0, nl);
      if (offset + buf.length >= end) return undefined;
      want *= 2;
    }
  }

  /**
   * The next batch from `at`: at most `maxLines` lines and `maxBytes` bytes, except that one line
   * longer than `maxBytes` goes alone. Undefined when no complete line ends by `end`.
   */
  async readBatch(at: Position, end: number, maxLines: number, maxBytes: number): Promise<Batch | undefined> {
    if (at.offset >= end) return undefined;
    // Read about what maxLines lines took last time, not maxBytes: a short batch of a big budget
    // would otherwise read (and allocate) the whole budget every time.
    let want = Math.min(maxBytes, end - at.offset, Math.max(64 * 1024, Math.ceil(this.lineBytes * maxLines * 1.25)));
    let data: Buffer;
    let cut = 0;
    let lines = 0;
    for (;;) {
      data = await this.readAt(at.offset, want);
      cut = 0;
      lines = 0;
      for (let i = data.indexOf(NEWLINE); i !== -1 && lines < maxLines; i = data.indexOf(NEWLINE, i + 1)) {
        cut = i + 1;
        lines++;
      }
      const more = Math.min(maxBytes, end - at.offset);
      if (lines >= maxLines || want >= more) break;
      want = Math.min(more, want * 2);
    }
    if (lines === 0) {
      const first = await this.firstLine(at.offset, end);
      if (first === undefined) return undefined;
      data = Buffer.concat([first, Buffer.from('\n')]);
      cut = data.length;
      lines = 1;
    }
    this.lineBytes = cut / lines;
    // A copy sized to the batch, so that a short batch does not pin a maxBytes buffer.
    const bytes = Buffer.from(data.subarray(0, cut));
    const firstNl = bytes.indexOf(NEWLINE);
    const head = lineFields(bytes.subarray(0, firstNl));
    if (head.seq !== at.seq) {
      throw new LedgerStateError('LEDGER_CORRUPT', `events.jsonl at offset ${at.offset} holds seq ${head.seq}, expected ${at.seq}`, {
        details: { offset: at.offset, expected: at.seq, actual: head.seq },
      });
    }
    const lastStart = bytes.lastIndexOf(NEWLINE, bytes.length - 2) + 1;
    const lastSeq = lines === 1 ? head.seq : lineFields(bytes.subarray(lastStart, bytes.length - 1)).seq;
    if (lastSeq !== at.seq + lines - 1) {
      throw new LedgerStateError('LEDGER_CORRUPT', `events.jsonl lines from seq ${at.seq} are not contiguous (line ${lines} holds seq ${lastSeq})`, {
        details: { offset: at.offset, firstSeq: at.seq, lastSeq },
      });
    }
    return { bytes, lines, firstSeq: at.seq, lastSeq, endOffset: at.offset + cut, firstAt: head.at };
  }

  /** seq and `at` of the last complete line ending by `end` (undefined when there is none). */
  async lastLine(end: number): Promise<{ seq: number; at: string | undefined } | undefined> {
    if (end <= 0) return undefined;
    let want = 64 * 1024;
    for (;;) {
      const from = Math.max(0, end - want);
      const buf = await this.readAt(from, end - from);
      const last = buf.lastIndexOf(NEWLINE);
      if (last === -1) {
        if (from === 0) return undefined;
        want *= 2;
        continue;
      }
      const start = buf.lastIndexOf(NEWLINE, last - 1);
      if (start === -1 && from > 0) {
        want *= 2;
        continue;
      }
      return lineFields(buf.subarray(start + 1, last));
    }
  }

  /** Offset just past the last "\n" at or before `end`. */
  async completeEnd(end: number): Promise<number> {
    let want = 64 * 1024;
    for (;;) {
      const from = Math.max(0, end - want);
      const buf = await this.readAt(from, end - from);
      const last = buf.lastIndexOf(NEWLINE);
      if (last !== -1) return from + last + 1;
      if (from === 0) return 0;
      want *= 2;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

function ioError(path: string, op: string, e: unknown): LedgerStateError {
  const code = (e as NodeJS.ErrnoException)?.code ?? 'EIO';
  if (code === 'ENOENT') return new LedgerStateError('LEDGER_NOT_FOUND', `${path}: ${op} failed: ${code}`, { cause: e, details: { path, errno: code } });
  return new LedgerStateError('IO_ERROR', `${path}: ${op} failed: ${code}`, { cause: e, details: { path, errno: code } });
}
