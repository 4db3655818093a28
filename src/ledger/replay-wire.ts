/**
 * The replay workers' answer for a batch of lines (spec §14.3, ADR 0036), packed as the
 * collector's check wire is (ADR 0034): one object per line cost the writing thread more than
 * the row insert it feeds.
 */
import { InvalidInputError, KeyError, LedgerStateError, PolicyError, SealedLedgerError, VerificationError, type ErrorCode } from '../errors.js';
import type { FieldPositions } from '../format/event-line.js';
import type { TailDefect } from './tail-replay.js';

/**
 * `nums` holds per line [seq, start, end] (offsets of the line and of the byte after its "\n" in
 * the batch), then a (position, length) pair for each of id, at, kind, actor and kid and the
 * positions of prev and hash (64 characters each). A position is where the value's characters
 * stand in the line's text, which the writing thread decodes anyway for the row, so a field
 * costs it a slice instead of a string sent across; -1 when the value does not occur verbatim
 * (an escaped character), and the value is then the next `length` characters of `text`. An
 * absent actor or kid has length -1. `leaves` are the 32-byte leaf hashes. `nums` and `leaves`
 * are transferred.
 */
export interface PackedReplayLines {
  nums: Float64Array;
  text: string;
  leaves: Uint8Array;
}
export const REPLAY_FIELDS = 15;
const HASH_CHARS = 64;
const LEAF_BYTES = 32;

/** An error thrown on a worker, carried so that the writing thread throws the same one. */
export interface CarriedError {
  name: string;
  code?: string;
  message: string;
  details?: Record<string, unknown>;
  stack: string;
}

/**
 * The first line of a batch that does not simply pass (the worker stops there). `pre`: it failed
 * before its seq and prev are known (parse, seal, line limit), so it decides at once. `post`: it
 * parsed, is packed as the batch's last line, and fails only if seq and prev hold (payload limit,
 * signature, signing policy), the order of replayTail's check.
 */
export interface LineFailure {
  index: number;
  stage: 'pre' | 'post';
  defect?: [TailDefect['code'], string];
  error?: CarriedError;
}

export interface ReplayBatchReply {
  lines: PackedReplayLines;
  failure?: LineFailure;
}

/** The fields of a line the writing thread needs: its row's columns, seq and prev. */
export interface ReplayLineFields {
  id: string;
  at: string;
  kind: string;
  actor: string | null;
  kid: string | null;
  prev: string;
  hash: string;
}

export class ReplayLinePacker {
  // Typed arrays grown by doubling, and positions instead of strings: Float64Array.from of a
  // number[], Buffer.concat of a Buffer per line and joining seven strings per line cost the
  // worker about 2.5 µs per line, a fifth of its whole check.
  private nums = new Float64Array(REPLAY_FIELDS * 1024);
  private leaves = Buffer.allocUnsafe(LEAF_BYTES * 1024);
  private readonly text: string[] = [];
  private count = 0;

  /**
   * `line` is the line's text as the writing thread will decode it (UTF-8, no "\n"); `f.hash`
   * must be the line's checked leaf hash: its bytes are the leaf the writing thread appends.
   * `at`, when known, says where each value's characters stand in `line` (checkEventLine's
   * positions): the line is then not searched for them.
   */
  add(seq: number, start: number, end: number, line: string, f: ReplayLineFields, at?: FieldPositions): void {
    if (f.prev.length !== HASH_CHARS || f.hash.length !== HASH_CHARS) throw new Error('ReplayLinePacker: prev and hash have fixed sizes');
    if ((this.count + 1) * REPLAY_FIELDS > this.nums.length) this.grow();
    const nums = this.nums;
    let o = this.count * REPLAY_FIELDS;
    nums[o++] = seq;
    nums[o++] = start;
    nums[o++] = end;
    const known = [at?.id, at?.at, at?.kind, at?.actor, undefined];
    const values = [f.id, f.at, f.kind, f.actor, f.kid];
    for (let k = 0; k < 5; k++) {
      const v = values[k] ?? null;
      const pos = known[k];
      nums[o++] = v === null ? -1 : pos !== undefined && pos >= 0 ? pos : this.position(line, v);
      nums[o++] = v === null ? -1 : v.length;
    }
    nums[o++] = at !== undefined && at.prev >= 0 ? at.prev : this.position(line, f.prev);
    nums[o] = at !== undefined && at.hash >= 0 ? at.hash : this.position(line, f.hash);
    if (this.leaves.write(f.hash, this.count * LEAF_BYTES, LEAF_BYTES, 'hex') !== LEAF_BYTES) throw new Error('ReplayLinePacker: hash is not hex');
    this.count++;
  }

  /** Owned copies sized to the lines packed, so that they can be transferred. */
  pack(): PackedReplayLines {
    return {
      nums: this.nums.slice(0, this.count * REPLAY_FIELDS),
      text: this.text.join(''),
      leaves: new Uint8Array(this.leaves.subarray(0, this.count * LEAF_BYTES)),
    };
  }

  // Any occurrence will do: the writing thread takes the characters at the position, and they
  // are the value's by construction.
  private position(line: string, v: string): number {
    const at = v.length === 0 ? 0 : line.indexOf(v);
    if (at < 0) this.text.push(v);
    return at;
  }

  private grow(): void {
    const nums = new Float64Array(this.nums.length * 2);
    nums.set(this.nums);
    this.nums = nums;
    const leaves = Buffer.allocUnsafe(this.leaves.length * 2);
    this.leaves.copy(leaves);
    this.leaves = leaves;
  }
}

/** Reads a packed reply back, line by line, in order (the fallback text is consumed in order). */
export class ReplayLineReader {
  readonly count: number;
  private readonly leaves: Buffer;
  private textAt = 0;

  constructor(private readonly p: PackedReplayLines) {
    this.count = p.nums.length / REPLAY_FIELDS;
    this.leaves = Buffer.from(p.leaves.buffer, p.leaves.byteOffset, p.leaves.byteLength);
  }

  seq(i: number): number {
    return this.p.nums[i * REPLAY_FIELDS]!;
  }

  start(i: number): number {
    return this.p.nums[i * REPLAY_FIELDS + 1]!;
  }

  end(i: number): number {
    return this.p.nums[i * REPLAY_FIELDS + 2]!;
  }

  /** Line `i`'s fields, `line` its text; call once per line, in order. */
  fields(i: number, line: string): ReplayLineFields {
    const nums = this.p.nums;
    let o = i * REPLAY_FIELDS + 3;
    const take = (pos: number, length: number): string | null => {
      if (length < 0) return null;
      if (pos >= 0) return line.slice(pos, pos + length);
      return this.p.text.slice(this.textAt, (this.textAt += length));
    };
    const id = take(nums[o++]!, nums[o++]!)!;
    const at = take(nums[o++]!, nums[o++]!)!;
    const kind = take(nums[o++]!, nums[o++]!)!;
    const actor = take(nums[o++]!, nums[o++]!);
    const kid = take(nums[o++]!, nums[o++]!);
    const prev = take(nums[o++]!, HASH_CHARS)!;
    const hash = take(nums[o]!, HASH_CHARS)!;
    return { id, at, kind, actor, kid, prev, hash };
  }

  /** A view, not a copy. */
  leaf(i: number): Buffer {
    return this.leaves.subarray(i * LEAF_BYTES, (i + 1) * LEAF_BYTES);
  }
}

export function carryError(e: unknown): CarriedError {
  if (e instanceof SealedLedgerError) return { name: e.name, code: e.code, message: e.message, details: e.details, stack: e.stack ?? '' };
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack ?? '' };
  return { name: 'Error', message: String(e), stack: '' };
}

const CLASSES: Record<string, new (code: ErrorCode, message: string, options: { details?: Record<string, unknown> }) => SealedLedgerError> = {
  InvalidInputError, VerificationError, KeyError, PolicyError, LedgerStateError, SealedLedgerError,
};

/** The error the worker threw, as the same class with the same code, message and details. */
export function rebuildError(c: CarriedError): Error {
  const Class = CLASSES[c.name];
  const e = Class && c.code !== undefined ? new Class(c.code as ErrorCode, c.message, { details: c.details ?? {} }) : new Error(`replay worker: ${c.message}`);
  if (c.stack) e.stack = c.stack;
  return e;
}
