/**
 * The per-line checks of an ingest batch (spec §18.3), the same as `verify` makes (spec §14.6):
 * UTF-8, size limits (spec §3.1.1), canonical form and seal (checkEventLine), and a signature by
 * a key of the source valid at the event's seq and time (verifyEventSignature), or its absence
 * when the source does not require one. Checks stop at the first bad line: the lines before it
 * still go on to the chain checks and may be accepted.
 */
import { isUtf8 } from 'node:buffer';
import type { Keyring } from '../crypto/keyring.js';
import { SealedLedgerError } from '../errors.js';
import { DEFAULT_LIMITS } from '../format/event.js';
import { checkEventLine } from '../format/event-line.js';
import { verifyEventSignature } from '../format/signature.js';

/** A line that passed every check that needs nothing but itself and the keyring. */
export interface CheckedLine {
  seq: number;
  id: string;
  at: string;
  prev: string;
  hash: string;
  /** The line's bytes without its "\n", exactly as received. */
  bytes: Buffer;
}

export interface LineFailure {
  code: string;
  message: string;
  /** 1-based position in the batch. */
  line: number;
  seq?: number;
}

export interface BatchCheck {
  lines: CheckedLine[];
  /** The first line that failed, if any: lines[] holds only the lines before it. */
  failure?: LineFailure;
}

export interface LineLimits {
  /** Canonical payload bytes (spec §3.1.1). */
  maxPayloadBytes: number;
  /** A whole line's bytes; checked before parsing. Default: payload limit + 64 KiB. */
  maxLineBytes: number;
}

export function lineLimits(maxPayloadBytes = DEFAULT_LIMITS.maxPayloadBytes): LineLimits {
  return { maxPayloadBytes, maxLineBytes: maxPayloadBytes + 64 * 1024 };
}

const NL = 0x0a;

/** Splits a body into lines; every line, the last included, must end in "\n". */
export function splitLines(body: Buffer): { lines: Buffer[]; unterminated: boolean } {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = body.indexOf(NL, start); i !== -1; i = body.indexOf(NL, start)) {
    lines.push(body.subarray(start, i));
    start = i + 1;
  }
  const unterminated = start < body.length;
  if (unterminated) lines.push(body.subarray(start));
  return { lines, unterminated };
}

export interface CheckOptions {
  keyring: Keyring;
  requireSignatures: boolean;
  limits: LineLimits;
  /** Lines of the whole batch before `body` (when `body` is a slice checked by a worker). */
  lineOffset?: number;
}

export function checkBatchLines(body: Buffer, o: CheckOptions): BatchCheck {
  const { lines: raw, unterminated } = splitLines(body);
  const lines: CheckedLine[] = [];
  const base = o.lineOffset ?? 0;
  const fail = (i: number, code: string, message: string, seq?: number): BatchCheck => ({
    lines,
    failure: { code, message: `line ${base + i + 1}: ${message}`, line: base + i + 1, ...(seq === undefined ? {} : { seq }) },
  });
  for (let i = 0; i < raw.length; i++) {
    const bytes = raw[i]!;
    if (unterminated && i === raw.length - 1) return fail(i, 'MALFORMED_LINE', 'the last line does not end in a newline');
    if (bytes.length > o.limits.maxLineBytes) return fail(i, 'LIMIT_EXCEEDED', `the line is longer than ${o.limits.maxLineBytes} bytes`);
    if (!isUtf8(bytes)) return fail(i, 'MALFORMED_LINE', 'not valid UTF-8');
    let rec;
    try {
      rec = checkEventLine(bytes.toString('utf8'));
    } catch (e) {
      if (!(e instanceof SealedLedgerError)) throw e;
      return fail(i, e.code, e.message, typeof e.details.seq === 'number' ? e.details.seq : undefined);
    }
    const ev = rec.event;
    if (Buffer.byteLength(rec.payloadJson) > o.limits.maxPayloadBytes) {
      return fail(i, 'LIMIT_EXCEEDED', `event seq ${ev.seq}: canonical payload exceeds ${o.limits.maxPayloadBytes} bytes`, ev.seq);
    }
    if (ev.sig !== undefined || o.requireSignatures) {
      try {
        verifyEventSignature(ev, o.keyring);
      } catch (e) {
        if (!(e instanceof SealedLedgerError)) throw e;
        return fail(i, e.code, e.message, ev.seq);
      }
    }
    lines.push({ seq: ev.seq, id: ev.id, at: ev.at, prev: ev.prev, hash: ev.hash, bytes });
  }
  return { lines };
}
