/**
 * events.jsonl cut into batches of whole lines, so verification can hand raw bytes to worker
 * threads (spec §14.6). Splitting a batch gives exactly what JsonlFile.lines gives for the same
 * bytes: offsets, 1-based line numbers, the invalid-UTF-8 mark; bytes after the last "\n" are the
 * torn tail.
 */
import type { JsonlFile, TornTail } from '../store/jsonl-file.js';
import type { LineToCheck } from './verify-line.js';

export interface LineBatch {
  /** Whole lines, each ending in "\n"; the view owns its ArrayBuffer, so it can be transferred. */
  bytes: Uint8Array;
  /** File offset of bytes[0]. */
  offset: number;
  /** 1-based number of the batch's first line. */
  firstLineNo: number;
}

const NEWLINE = 0x0a;

/** Batches of about `batchBytes` (a longer line makes a longer batch) up to `end`. */
export function* lineBatches(jsonl: JsonlFile, end: number, batchBytes: number, onTornTail?: (tail: TornTail) => void): Generator<LineBatch> {
  let carry: Uint8Array = new Uint8Array(0);
  let carryOffset = 0;
  let lineNo = 1;
  let position = 0;
  while (position < end) {
    const chunk = jsonl.readRange(position, Math.min(batchBytes, end - position));
    if (chunk.length === 0) break;
    position += chunk.length;
    const data = new Uint8Array(carry.length + chunk.length);
    data.set(carry, 0);
    data.set(chunk, carry.length);
    const last = data.lastIndexOf(NEWLINE);
    if (last === -1) {
      carry = data;
      continue;
    }
    const bytes = data.subarray(0, last + 1);
    carry = data.slice(last + 1);
    const batch = { bytes, offset: carryOffset, firstLineNo: lineNo };
    // Counted before yielding: the consumer may transfer the bytes to a worker.
    lineNo += countNewlines(bytes);
    carryOffset += bytes.length;
    yield batch;
  }
  if (carry.length > 0) onTornTail?.({ offset: carryOffset, bytes: Buffer.from(carry) });
}

function countNewlines(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/** The lines of one batch, in order. */
export function* linesOf(batch: LineBatch): Generator<LineToCheck> {
  const data = Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength);
  let lineNo = batch.firstLineNo;
  let start = 0;
  for (let nl = data.indexOf(NEWLINE, start); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
    const line: LineToCheck = { text: data.toString('utf8', start, nl), offset: batch.offset + start, lineNo: lineNo++ };
    // Same rule as JsonlFile.lines: U+FFFD that the bytes do not spell is a decoding failure.
    if (line.text.includes('\ufffd') && !data.subarray(start, nl).equals(Buffer.from(line.text))) line.badUtf8 = true;
    yield line;
    start = nl + 1;
  }
}
