/**
 * Reads events.jsonl forward from a cursor, up to a byte bound that the caller knows is durable
 * (spec §21.3), and verifies what it reads before anyone sees it (spec §21.4): canonical form and
 * seal, seq and chain link from the previous event read, and the signature against the keyring.
 * It holds at most one chunk of lines: the follower reads more only when its consumer pulls.
 */
import { LedgerStateError, SealedLedgerError, VerificationError } from '../errors.js';
import { Keyring } from '../crypto/keyring.js';
import type { SealedEvent } from '../format/event.js';
import { parseEventLine } from '../format/event-line.js';
import { verifyEventSignature } from '../format/signature.js';
import type { FileIO } from '../store/file-io.js';
import type { FeedCursor } from './cursor.js';

/** One verified event with where its line lies; `end` is the cursor offset after it. */
export interface FeedRecord {
  event: SealedEvent;
  /** The canonical line as written, without its "\n". */
  line: string;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** Byte offset just after the line's "\n". */
  end: number;
}

export interface KeySource {
  keyring(): Keyring;
  /** Re-read keys after an unknown or not-yet-valid key; false when nothing could change. */
  reload(): boolean;
}

export interface LineReaderOptions {
  keys: KeySource;
  requireSignatures?: boolean;
  /** Only for locating a position (consumers reset): seals and links are still checked. */
  skipSignatures?: boolean;
}

const CHUNK = 256 * 1024;
const NEWLINE = 0x0a;

export class LineReader {
  private cursor: FeedCursor;
  private buf = Buffer.allocUnsafe(CHUNK);
  /** A bad line found after good ones in the same chunk: thrown once those were handed out. */
  private failure: unknown;

  constructor(
    private readonly io: FileIO,
    private readonly fd: number,
    readonly path: string,
    start: FeedCursor,
    private readonly options: LineReaderOptions,
  ) {
    this.cursor = { ...start };
  }

  position(): FeedCursor {
    return { ...this.cursor };
  }

  /**
   * The verified events whose lines lie wholly before `bound`, at most one chunk of them; [] when
   * there is none yet. Throws on anything that is not the next event of the chain.
   */
  read(bound: number): FeedRecord[] {
    if (this.failure !== undefined) throw this.failure;
    const from = this.cursor.offset;
    const size = this.io.size(this.fd);
    if (size < from) {
      throw new LedgerStateError('LEDGER_CORRUPT', `${this.path} shrank to ${size} bytes, below byte ${from} where event seq ${this.cursor.seq} ends: durable events were removed`, {
        details: { path: this.path, size, offset: from, seq: this.cursor.seq },
      });
    }
    const end = Math.min(bound, size);
    if (end <= from) return [];
    let window = Math.min(CHUNK, end - from);
    for (;;) {
      if (this.buf.length < window) this.buf = Buffer.allocUnsafe(window);
      const data = this.buf.subarray(0, this.readFully(from, window));
      const last = data.lastIndexOf(NEWLINE);
      if (last !== -1) return this.verifyLines(data.subarray(0, last + 1), from);
      // One line longer than the window: widen it, never past what is durable.
      if (window >= end - from) return [];
      window = Math.min(window * 2, end - from);
    }
  }

  private readFully(at: number, length: number): number {
    let got = 0;
    while (got < length) {
      const n = this.io.read(this.fd, this.buf.subarray(got, length), at + got);
      if (n === 0) break;
      got += n;
    }
    return got;
  }

  private verifyLines(data: Buffer, base: number): FeedRecord[] {
    const out: FeedRecord[] = [];
    let start = 0;
    for (let nl = data.indexOf(NEWLINE); nl !== -1; nl = data.indexOf(NEWLINE, start)) {
      const offset = base + start;
      const bytes = data.subarray(start, nl);
      const line = bytes.toString('utf8');
      if (line.includes('\ufffd') && !bytes.equals(Buffer.from(line))) {
        throw new LedgerStateError('LEDGER_CORRUPT', `${this.path}: the line at byte ${offset} is not valid UTF-8`, { details: { path: this.path, offset } });
      }
      let event: SealedEvent;
      try {
        event = this.verify(line, offset);
      } catch (e) {
        if (out.length === 0) throw e;
        this.failure = e;
        return out;
      }
      const end = base + nl + 1;
      this.cursor = { seq: event.seq, hash: event.hash, offset: end };
      out.push({ event, line, offset, end });
      start = nl + 1;
    }
    return out;
  }

  private verify(line: string, offset: number): SealedEvent {
    const event = parseEventLine(line, { offset }).event;
    const expected = this.cursor.seq + 1;
    if (event.seq !== expected) {
      throw new VerificationError('SEQ_GAP', `byte ${offset}: expected seq ${expected}, found ${event.seq}`, {
        details: { seq: event.seq, offset }, expected: String(expected), actual: String(event.seq),
      });
    }
    if (event.prev !== this.cursor.hash) {
      throw new VerificationError('CHAIN_BROKEN', `seq ${event.seq}: prev does not match the hash of seq ${this.cursor.seq}`, {
        details: { seq: event.seq, offset }, expected: this.cursor.hash, actual: event.prev,
      });
    }
    if (event.sig) {
      if (!this.options.skipSignatures) this.verifySignature(event);
    }
    else if (this.options.requireSignatures) {
      throw new VerificationError('SIGNATURE_REQUIRED', `event seq ${event.seq} is not signed`, { details: { seq: event.seq, offset } });
    }
    return event;
  }

  private verifySignature(event: SealedEvent): void {
    try {
      verifyEventSignature(event, this.options.keys.keyring());
    } catch (e) {
      // A key added to (or whose window was changed in) the keyring after the follower started.
      const keyProblem = e instanceof SealedLedgerError && (e.code === 'UNKNOWN_KEY' || e.code === 'KEY_NOT_VALID');
      if (!keyProblem || !this.options.keys.reload()) throw e;
      verifyEventSignature(event, this.options.keys.keyring());
    }
  }
}

/** Keys fixed by the caller: nothing to reload. */
export function fixedKeys(keyring: Keyring | undefined): KeySource {
  const k = keyring ?? new Keyring();
  return { keyring: () => k, reload: () => false };
}
