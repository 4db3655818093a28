/**
 * The replay workers' answer for a batch of lines (spec §14.3, ADR 0036), packed as the
 * collector's check wire is (ADR 0034): one object per line cost the writing thread more than
 * the row insert it feeds.
 */
import { InvalidInputError, KeyError, LedgerStateError, PolicyError, SealedLedgerError, VerificationError, type ErrorCode } from '../errors.js';
import type { TailDefect } from './tail-replay.js';

/**
 * `nums` holds per line [seq, start, end, id, at, kind, actor, kid] (start and end are offsets of
 * the line and of the byte after its "\n" in the batch; the others are lengths in `text`, -1 for
 * an absent actor or kid); `text` the id, at, kind, actor, kid, prev and hash of each line;
 * `leaves` the 32-byte leaf hashes. `nums` and `leaves` are transferred.
 */
export interface PackedReplayLines {
  nums: Float64Array;
  text: string;
  leaves: Uint8Array;
}
export const REPLAY_FIELDS = 8;
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

export interface UnpackedLine {
  seq: number;
  start: number;
  end: number;
  id: string;
  at: string;
  kind: string;
  actor: string | null;
  kid: string | null;
  prev: string;
  hash: string;
}

export class ReplayLinePacker {
  private readonly nums: number[] = [];
  private readonly text: string[] = [];
  private readonly leaves: Buffer[] = [];

  add(l: UnpackedLine, leaf: Buffer): void {
    if (l.prev.length !== HASH_CHARS || l.hash.length !== HASH_CHARS || leaf.length !== LEAF_BYTES) throw new Error('ReplayLinePacker: prev, hash and leaf have fixed sizes');
    this.nums.push(l.seq, l.start, l.end, l.id.length, l.at.length, l.kind.length, l.actor?.length ?? -1, l.kid?.length ?? -1);
    this.text.push(l.id, l.at, l.kind, l.actor ?? '', l.kid ?? '', l.prev, l.hash);
    this.leaves.push(leaf);
  }

  pack(): PackedReplayLines {
    return { nums: Float64Array.from(this.nums), text: this.text.join(''), leaves: new Uint8Array(Buffer.concat(this.leaves)) };
  }
}

/** The lines of a packed reply, in order; `leaf(i)` is a view, not a copy. */
export function unpackReplayLines(p: PackedReplayLines): { lines: UnpackedLine[]; leaf(i: number): Buffer } {
  const { nums, text } = p;
  const lines: UnpackedLine[] = [];
  let at = 0;
  const take = (n: number) => (n < 0 ? null : text.slice(at, (at += n)));
  for (let o = 0; o < nums.length; o += REPLAY_FIELDS) {
    const id = take(nums[o + 3]!)!;
    const time = take(nums[o + 4]!)!;
    const kind = take(nums[o + 5]!)!;
    const actor = take(nums[o + 6]!);
    const kid = take(nums[o + 7]!);
    const prev = take(HASH_CHARS)!;
    const hash = take(HASH_CHARS)!;
    lines.push({ seq: nums[o]!, start: nums[o + 1]!, end: nums[o + 2]!, id, at: time, kind, actor, kid, prev, hash });
  }
  const leaves = Buffer.from(p.leaves.buffer, p.leaves.byteOffset, p.leaves.byteLength);
  return { lines, leaf: (i) => leaves.subarray(i * LEAF_BYTES, (i + 1) * LEAF_BYTES) };
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
