/**
 * events.jsonl cut into batches of whole lines, so verification and replay can hand raw bytes to worker
 * threads (spec §14.6, §14.3). Splitting a batch gives exactly what JsonlFile.lines gives for the same
 * bytes: offsets, 1-based line numbers, the invalid-UTF-8 mark; bytes after the last "\n" are the
 * torn tail.
 */
import type { JsonlFile, TornTail } from './jsonl-file.js';
/** One line of a batch; the shape of the audit layer's LineToCheck. */
export interface BatchLine {
  text: string;
  offset: number;
  lineNo: number;
  length: number;
  badUtf8?: boolean;
}

export interface LineBatch {
  /** Whole lines, each ending in "\n"; the view owns its ArrayBuffer, so it can be transferred. */
  bytes: Uint8Array;
  /** File offset of bytes[0]. */
  offset: number;
  /** 1-based number of the batch's first line. */
  firstLineNo: number;
  /**
   * Set (with empty `bytes`) for one line longer than the reader's limit: its bytes were skipped,
   * never buffered (spec §7.2).
   */
  overlong?: { offset: number; lineNo: number; length: number };
}

const NEWLINE = 0x0a;

/**
 * Batches of about `batchBytes` up to `end`. A line that is still open when the carried bytes
 * pass `maxLineBytes` is skipped to its newline and reported as an `overlong` batch; a batch is
 * therefore at most `batchBytes + maxLineBytes` bytes, and every byte is copied once.
 */
export function* lineBatches(jsonl: JsonlFile, end: number, batchBytes: number, onTornTail?: (tail: TornTail) => void, maxLineBytes = Infinity): Generator<LineBatch> {
  let pieces: Uint8Array[] = [];
  let carried = 0;
  let skipping = false;
  let carryOffset = 0;
  let lineNo = 1;
  let position = 0;
  while (position < end) {
    let chunk: Uint8Array = jsonl.readRange(position, Math.min(batchBytes, end - position));
    if (chunk.length === 0) break;
    position += chunk.length;
    if (skipping) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl === -1) {
        carried += chunk.length;
        continue;
      }
      const length = carried + nl + 1;
      yield { bytes: new Uint8Array(0), offset: carryOffset, firstLineNo: lineNo, overlong: { offset: carryOffset, lineNo, length } };
      lineNo++;
      carryOffset += length;
      carried = 0;
      skipping = false;
      chunk = chunk.subarray(nl + 1);
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last === -1) {
      carried += chunk.length;
      if (carried > maxLineBytes) {
        skipping = true;
        pieces = [];
      } else if (chunk.length > 0) pieces.push(chunk);
      continue;
    }
    const bytes = new Uint8Array(carried + last + 1);
    let at = 0;
    for (const p of pieces) {
      bytes.set(p, at);
      at += p.length;
    }
    bytes.set(chunk.subarray(0, last + 1), at);
    const rest = chunk.subarray(last + 1);
    pieces = rest.length > 0 ? [rest.slice()] : [];
    carried = rest.length;
    const batch = { bytes, offset: carryOffset, firstLineNo: lineNo };
    // Counted before yielding: the consumer may transfer the bytes to a worker.
    lineNo += countNewlines(bytes);
    carryOffset += bytes.length;
    yield batch;
  }
  if (carried > 0) {
    onTornTail?.(skipping
      ? { offset: carryOffset, length: carried, bytes: Buffer.alloc(0), tooLong: true }
      : { offset: carryOffset, length: carried, bytes: Buffer.concat(pieces) });
  }
}

function countNewlines(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/** The lines of one batch, in order. */
export function* linesOf(batch: LineBatch): Generator<BatchLine> {
  const data = Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
  let lineNo = batch.firstLineNo;
  let start = 0;
  for (let nl = data.indexOf(NEWLINE, start); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
    const line: BatchLine = { text: data.toString('utf8', start, nl), offset: batch.offset + start, lineNo: lineNo++, length: nl - start + 1 };
    // Same rule as JsonlFile.lines: U+FFFD that the bytes do not spell is a decoding failure.
    if (line.text.includes('\ufffd') && !data.subarray(start, nl).equals(Buffer.from(line.text))) line.badUtf8 = true;
    yield line;
    start = nl + 1;
  }
}
