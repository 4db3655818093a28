/**
 * Event inputs read as JSONL (spec §15.1 append): one EventInput per line. Every line is parsed
 * and validated before anything is appended, so one bad line rejects the whole input with its
 * line number and nothing is written.
 */
import type { Readable } from 'node:stream';
import { ConflictError, InvalidInputError, isSealedLedgerError } from '../errors.js';
import { prepareEvent } from '../format/seal.js';
import { canonicalize, DEFAULT_LIMITS, type EventInput } from '../index.js';

export interface NumberedInput {
  /** 1-based line number in the input. */
  lineNo: number;
  input: EventInput;
}

/** Parse and validate one line; `where` names it in errors ("stdin line 3"). */
export function parseInputLine(text: string, where: string): EventInput {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InvalidInputError('INVALID_JSON', `${where}: not valid JSON (${(e as Error).message})`, { details: { where } });
  }
  try {
    prepareEvent(value as EventInput);
  } catch (e) {
    if (!isSealedLedgerError(e)) throw e;
    throw new InvalidInputError(e.code, `${where}: ${e.message}`, { cause: e, details: { ...e.details, where } });
  }
  return value as EventInput;
}

/**
 * Two lines with the same id must describe the same event (spec §13.6); otherwise the later one
 * is refused here, with both line numbers, before anything reaches the ledger.
 */
function assertConsistentIds(events: readonly NumberedInput[], name: string): void {
  const seen = new Map<string, NumberedInput>();
  const content = (i: EventInput) => canonicalize({ kind: i.kind, actor: i.actor ?? null, payload: i.payload, at: i.at ?? null });
  for (const e of events) {
    if (e.input.id === undefined) continue;
    const first = seen.get(e.input.id);
    if (first === undefined) seen.set(e.input.id, e);
    else if (content(first.input) !== content(e.input)) {
      throw new ConflictError('IDEMPOTENCY_CONFLICT', `${name} line ${e.lineNo}: id ${e.input.id} is also used by line ${first.lineNo} for a different event`, {
        details: { id: e.input.id, line: e.lineNo, otherLine: first.lineNo },
      });
    }
  }
}

export interface InputLimits {
  /** Longest line: no valid event is longer (a payload at maxPayloadBytes, every byte escaped as \\u00XX). */
  maxLineBytes: number;
  /** The whole input: the batch is atomic, so all of it is held in memory before the append. */
  maxInputBytes: number;
}

export const DEFAULT_INPUT_LIMITS: InputLimits = {
  maxLineBytes: 8 * DEFAULT_LIMITS.maxPayloadBytes,
  maxInputBytes: 64 * 1024 * 1024,
};

function tooLarge(message: string, details: Record<string, unknown>): InvalidInputError {
  return new InvalidInputError('INPUT_TOO_LARGE', message, { details });
}

/**
 * All events on `stream`; blank lines are skipped but still counted. Lines end at LF (a CR
 * before it is dropped). Input past a limit is refused as soon as the byte that passes it
 * arrives, so memory stays bounded by the limits, not by what is piped in.
 */
export async function readInputLines(stream: Readable, name = 'stdin', limits: InputLimits = DEFAULT_INPUT_LIMITS): Promise<NumberedInput[]> {
  const events: NumberedInput[] = [];
  let lineNo = 0;
  let total = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const takeLine = (last: Buffer) => {
    lineNo++;
    const bytes = pending.length === 0 ? last : Buffer.concat([...pending, last]);
    pending = [];
    pendingBytes = 0;
    const line = bytes.toString('utf8').replace(/\r$/, '');
    if (line.trim() !== '') events.push({ lineNo, input: parseInputLine(line, `${name} line ${lineNo}`) });
  };
  for await (const data of stream) {
    const chunk = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
    total += chunk.length;
    if (total > limits.maxInputBytes) {
      throw tooLarge(`${name} is over ${limits.maxInputBytes} bytes, the most one atomic append reads; split it into several appends`, {
        limit: limits.maxInputBytes, line: lineNo + 1,
      });
    }
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (pendingBytes + (nl === -1 ? chunk.length : nl) - start > limits.maxLineBytes) {
        throw tooLarge(`${name} line ${lineNo + 1} is over ${limits.maxLineBytes} bytes, longer than any valid event`, {
          limit: limits.maxLineBytes, line: lineNo + 1,
        });
      }
      if (nl === -1) break;
      takeLine(chunk.subarray(start, nl));
      start = nl + 1;
    }
    if (start < chunk.length) {
      pending.push(Buffer.from(chunk.subarray(start))); // a copy: the stream may reuse its buffer
      pendingBytes += chunk.length - start;
    }
  }
  if (pendingBytes > 0) takeLine(Buffer.alloc(0));
  assertConsistentIds(events, name);
  return events;
}

/**
 * An error from appendBatch names the failing item by index, or by id (an id already in the
 * ledger for another event); give it the input's line number.
 */
export function withLineNumber(e: unknown, inputs: readonly NumberedInput[], name = 'stdin'): unknown {
  if (!isSealedLedgerError(e)) return e;
  const err = e;
  const { index, id } = err.details;
  const item = typeof index === 'number' ? inputs[index] : typeof id === 'string' ? inputs.find((i) => i.input.id === id) : undefined;
  if (!item) return err;
  const Ctor = err.constructor as new (code: typeof err.code, message: string, o: object) => Error;
  return new Ctor(err.code, `${name} line ${item.lineNo}: ${err.message}`, { cause: err, details: { ...err.details, line: item.lineNo } });
}
