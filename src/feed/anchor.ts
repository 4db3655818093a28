/**
 * Where a follower starts (spec §21.2). The cursor for "after seq N-1" is found through the
 * projection's row for N-1 (its offset), but only trusted once the JSONL bytes there are that
 * event's line; otherwise the follower starts at the start of the file and reads (verifying, not
 * yielding) up to N. A consumer's stored cursor is checked the same way.
 */
import { LedgerStateError, SealedLedgerError } from '../errors.js';
import { parseEventLine } from '../format/event-line.js';
import type { FileIO } from '../store/file-io.js';
import { type FeedCursor, START } from './cursor.js';

/** The projection's idea of where an event's line lies; a hint, checked against JSONL. */
export type RowHint = (seq: number) => { offset: number; line: string } | undefined;

/** The event whose line ends at `cursor.offset`, when it is the one the cursor names. */
export function cursorHolds(io: FileIO, fd: number, cursor: FeedCursor): boolean {
  if (cursor.seq < 0) return cursor.offset === 0 && cursor.hash === START.hash;
  if (cursor.offset <= 0 || io.size(fd) < cursor.offset) return false;
  // Read back only as far as the newline that starts the line (events are far below 4 MiB).
  for (let window = Math.min(cursor.offset, 64 << 10); ; window = Math.min(cursor.offset, window * 8)) {
    const buf = Buffer.allocUnsafe(window);
    let got = 0;
    while (got < window) {
      const n = io.read(fd, buf.subarray(got), cursor.offset - window + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== window || buf[window - 1] !== 0x0a) return false;
    const before = window >= 2 ? buf.lastIndexOf(0x0a, window - 2) : -1;
    if (before !== -1 || window === cursor.offset) {
      return lineIs(buf.toString('utf8', before + 1, window - 1), cursor.offset - window + before + 1, cursor);
    }
    if (window >= 4 << 20) return false;
  }
}

function lineIs(text: string, offset: number, cursor: FeedCursor): boolean {
  try {
    const ev = parseEventLine(text, { offset }).event;
    return ev.seq === cursor.seq && ev.hash === cursor.hash;
  } catch (e) {
    if (e instanceof SealedLedgerError) return false;
    throw e;
  }
}

/** The cursor just before `fromSeq`, or START when the hint cannot be confirmed. */
export function anchorFor(io: FileIO, fd: number, fromSeq: number, hint: RowHint): FeedCursor {
  if (fromSeq <= 0) return { ...START };
  let row;
  try {
    row = hint(fromSeq - 1);
  } catch (e) {
    if (!(e instanceof SealedLedgerError)) throw e;
    row = undefined; // an unreadable projection only costs a longer read
  }
  if (!row) return { ...START };
  let hash: string;
  try {
    hash = parseEventLine(row.line).event.hash;
  } catch (e) {
    if (!(e instanceof SealedLedgerError)) throw e;
    return { ...START };
  }
  const cursor = { seq: fromSeq - 1, hash, offset: row.offset + Buffer.byteLength(row.line, 'utf8') + 1 };
  return cursorHolds(io, fd, cursor) ? cursor : { ...START };
}

export function assertCursorHolds(io: FileIO, fd: number, cursor: FeedCursor, path: string, what: string): void {
  if (!cursorHolds(io, fd, cursor)) {
    throw new LedgerStateError('LEDGER_CORRUPT', `${what} names seq ${cursor.seq} ending at byte ${cursor.offset} of ${path}, but events.jsonl does not hold that event there`, {
      details: { path, seq: cursor.seq, offset: cursor.offset, hash: cursor.hash },
    });
  }
}
