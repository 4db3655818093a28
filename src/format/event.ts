/**
 * Event input and sealed event shapes, and the validation of every field (spec §3.1, §3.2).
 */
import { randomBytes } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import type { JsonValue } from './canonical.js';
import { utcTimestampProblem } from '../codec/utc-timestamp.js';

export const FORMAT_VERSION = 1 as const;
export const GENESIS_PREV = '0'.repeat(64);

/** What a caller appends (spec §3.1). */
export interface EventInput {
  kind: string;
  payload: JsonValue;
  actor?: string;
  /** Client idempotency key; a UUIDv7 is generated when absent. */
  id?: string;
  /** RFC 3339 UTC timestamp ending in "Z"; now when absent. */
  at?: string;
}

export interface EventSignature {
  kid: string;
  alg: 'ed25519';
  /** Standard base64 of the 64-byte Ed25519 signature. */
  value: string;
}

/** A sealed event as stored on both sides (spec §3.2). */
export interface SealedEvent {
  v: typeof FORMAT_VERSION;
  seq: number;
  id: string;
  at: string;
  kind: string;
  actor?: string;
  payload: JsonValue;
  prev: string;
  hash: string;
  sig?: EventSignature;
}

/** An event without its payload: what signatures, the chain and a replay's row checks read. */
export type EventHeader = Omit<SealedEvent, 'payload'>;

/** Documented size limits (spec §3.1.1). */
export interface EventLimits {
  /** Canonical payload bytes. */
  maxPayloadBytes: number;
}

export const DEFAULT_LIMITS: EventLimits = { maxPayloadBytes: 1024 * 1024 };

export const KIND_PATTERN = /^[A-Za-z][A-Za-z0-9_.:/-]{0,127}$/;
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
export const KID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
export const HASH_PATTERN = /^[0-9a-f]{64}$/;
const ACTOR_MAX = 256;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function invalid(field: string, reason: string, details: Record<string, unknown> = {}): never {
  throw new InvalidInputError('INVALID_EVENT', `${field}: ${reason}`, { details: { field, reason, ...details } });
}

export function validateKind(kind: unknown): string {
  if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) {
    invalid('kind', `must match ${KIND_PATTERN.source}`, { value: typeof kind === 'string' ? kind.slice(0, 140) : typeof kind });
  }
  return kind;
}

export function validateId(id: unknown): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    invalid('id', `must match ${ID_PATTERN.source}`, { value: typeof id === 'string' ? id.slice(0, 140) : typeof id });
  }
  return id;
}

export function validateActor(actor: unknown): string {
  if (typeof actor !== 'string' || actor.length === 0 || actor.length > ACTOR_MAX || CONTROL.test(actor) || !actor.isWellFormed()) {
    invalid('actor', `must be 1..${ACTOR_MAX} characters without control characters or lone surrogates`);
  }
  return actor;
}

/** RFC 3339 UTC ("Z") with a real calendar date; up to 9 fractional digits (spec §3.1). */
export function validateAt(at: unknown): string {
  const problem = utcTimestampProblem(at);
  if (problem === 'form') invalid('at', 'must be an RFC 3339 UTC timestamp like 2026-01-02T03:04:05.678Z');
  if (problem === 'calendar') invalid('at', 'is not a real UTC date and time', { value: at });
  return at as string;
}

// Random bytes are drawn in blocks: one randomBytes call per id costs more than the rest of sealing.
const RANDOM_BLOCK = 16 * 1024;
let randomPool = Buffer.alloc(0);
let randomAt = RANDOM_BLOCK;

/** UUIDv7 (RFC 9562 §5.7): time-ordered, so generated ids sort roughly by append time. */
export function uuidv7(now = Date.now()): string {
  if (randomAt + 16 > randomPool.length) {
    randomPool = randomBytes(RANDOM_BLOCK);
    randomAt = 0;
  }
  const b = Buffer.from(randomPool.subarray(randomAt, (randomAt += 16)));
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const INPUT_FIELDS = new Set(['kind', 'payload', 'actor', 'id', 'at']);

/** Checks the input's shape (not the payload's JSON-ness: canonicalization does that). */
export function validateInputShape(input: unknown): asserts input is EventInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) invalid('event', 'must be an object');
  for (const key of Object.keys(input)) {
    if (!INPUT_FIELDS.has(key)) invalid(key, 'unknown field (allowed: kind, payload, actor, id, at)');
  }
  const rec = input as Record<string, unknown>;
  validateKind(rec.kind);
  if (!('payload' in rec) || rec.payload === undefined) invalid('payload', 'is required (use null for none)');
  if (rec.actor !== undefined) validateActor(rec.actor);
  if (rec.id !== undefined) validateId(rec.id);
  if (rec.at !== undefined) validateAt(rec.at);
}
