/**
 * Event inputs read as JSONL (spec §15.1 append): one EventInput per line. Every line is parsed
 * and validated before anything is appended, so one bad line rejects the whole input with its
 * line number and nothing is written.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ConflictError, InvalidInputError, isSealedLedgerError } from '../errors.js';
import { canonicalize } from '../format/canonical.js';
import type { EventInput } from '../format/event.js';
import { prepareEvent } from '../format/seal.js';

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

/** All events on `stream`; blank lines are skipped but still counted. */
export async function readInputLines(stream: Readable, name = 'stdin'): Promise<NumberedInput[]> {
  const events: NumberedInput[] = [];
  let lineNo = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim() === '') continue;
    events.push({ lineNo, input: parseInputLine(line, `${name} line ${lineNo}`) });
  }
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
