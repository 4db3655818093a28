/**
 * The per-line part of verifyLedger (spec §14.6): canonical form, seal and signature of one
 * events.jsonl line. It needs nothing from the lines before it, so it runs inline or in a worker
 * thread; the chain, seq and Merkle checks that do need order stay with the caller.
 */
import { SealedLedgerError } from '../errors.js';
import type { Keyring } from '../crypto/keyring.js';
import { checkEventLine } from '../format/event-line.js';
import { verifyEventSignature } from '../format/signature.js';

export interface VerifyProblem {
  code: string;
  message: string;
  seq?: number;
  lineNo?: number;
  offset?: number;
}

/** One complete line of events.jsonl, as JsonlFile.lines yields it. */
export interface LineToCheck {
  text: string;
  offset: number;
  lineNo?: number;
  badUtf8?: boolean;
  /** Longer than the reader's line limit; its bytes were not read into memory (spec §7.2). */
  tooLong?: boolean;
  /** Byte length with the "\n", when the reader knows it. */
  length?: number;
}

/**
 * What one line contributes: a problem that makes it no event at all, or an event with the
 * fields the ordered checks need. Plain data, so it crosses a worker boundary by structured clone.
 */
export type LineCheck =
  | { kind: 'problem'; problem: VerifyProblem }
  | {
      kind: 'event';
      seq: number;
      prev: string;
      hash: string;
      offset: number;
      lineNo?: number;
      signed: boolean;
      /** UTF-8 bytes of the line (without "\n") and of its canonical payload, for the §3.1.1 limits. */
      lineBytes: number;
      payloadBytes: number;
      /** Set when the signature does not verify against the keyring (spec §4.2, §5.3). */
      sigProblem?: VerifyProblem;
    };

/** Throws only for errors that are not a verdict on the line (bugs, not tampering). */
export function checkLine(line: LineToCheck, keyring: Keyring): LineCheck {
  const where = { offset: line.offset, ...(line.lineNo ? { lineNo: line.lineNo } : {}) };
  if (line.tooLong) {
    return { kind: 'problem', problem: { code: 'MALFORMED_LINE', message: `line ${line.lineNo}: longer than the line limit (spec §3.1.1); not read`, ...where } };
  }
  if (line.badUtf8) {
    return { kind: 'problem', problem: { code: 'MALFORMED_LINE', message: `line ${line.lineNo}: not valid UTF-8`, ...where } };
  }
  let rec;
  try {
    rec = checkEventLine(line.text, where);
  } catch (e) {
    if (!(e instanceof SealedLedgerError)) throw e;
    const seq = typeof e.details.seq === 'number' ? e.details.seq : undefined;
    return { kind: 'problem', problem: { code: e.code, message: e.message, ...where, ...(seq === undefined ? {} : { seq }) } };
  }
  const ev = rec.event;
  const check: LineCheck = {
    kind: 'event', seq: ev.seq, prev: ev.prev, hash: ev.hash, ...where, signed: ev.sig !== undefined,
    lineBytes: line.length === undefined ? Buffer.byteLength(line.text) : line.length - 1,
    payloadBytes: Buffer.byteLength(rec.payloadJson),
  };
  if (ev.sig) {
    try {
      verifyEventSignature(ev, keyring);
    } catch (e) {
      if (!(e instanceof SealedLedgerError)) throw e;
      check.sigProblem = { code: e.code, message: `seq ${ev.seq}: ${e.message}`, seq: ev.seq, ...where };
    }
  }
  return check;
}
