/**
 * Sealing: the exact bytes that are hashed and the exact JSONL line (spec §3.3, §3.4).
 *
 * The body and the line are both JCS, built by hand in the fixed key order (actor, at, hash, id,
 * kind, payload, prev, seq, sig, v are already sorted by UTF-16 code units) so the payload is
 * canonicalized once per event; a property test holds them equal to the generic canonicalizer.
 */
import { InvalidInputError, VerificationError } from '../errors.js';
import { leafHash } from '../crypto/domain.js';
import { type JsonValue, TOO_LONG, canonicalize, encodeString } from './canonical.js';
import {
  DEFAULT_LIMITS,
  FORMAT_VERSION,
  type EventInput,
  type EventLimits,
  type EventSignature,
  type SealedEvent,
  uuidv7,
  validateInputShape,
} from './event.js';

/** An event together with its canonical line (no trailing newline) and raw hash. */
export interface SealedRecord {
  event: SealedEvent;
  line: string;
  hash: Buffer;
  payloadJson: string;
}

export interface SealOptions {
  seq: number;
  prev: string;
  limits?: EventLimits;
  /** Clock for the default `at`; injectable for deterministic tests. */
  now?: () => Date;
}

type Unsealed = Omit<SealedEvent, 'hash' | 'sig'>;

/**
 * The two runs of JCS text that body and line share: everything before `hash` and everything
 * from `id` to `seq`. Escaping them once serves both encodings.
 */
interface JcsParts {
  head: string;
  tail: string;
}

function encodeParts(e: Unsealed, payloadJson: string): JcsParts {
  return {
    head: '{' + (e.actor === undefined ? '' : `"actor":${encodeString(e.actor, 'actor')},`) + `"at":${encodeString(e.at, 'at')},`,
    tail: `"id":${encodeString(e.id, 'id')},"kind":${encodeString(e.kind, 'kind')},"payload":${payloadJson},"prev":"${e.prev}","seq":${e.seq},`,
  };
}

function bodyFrom(parts: JcsParts, v: number): string {
  return `${parts.head}${parts.tail}"v":${v}}`;
}

function lineFrom(parts: JcsParts, hash: string, sig: EventSignature | undefined, v: number): string {
  return `${parts.head}"hash":"${hash}",${parts.tail}${sig === undefined ? '' : `"sig":${encodeSig(sig)},`}"v":${v}}`;
}

/** JCS(event without `hash` and `sig`): the bytes behind the hash (spec §3.3). */
export function encodeBody(e: Unsealed, payloadJson: string): string {
  return bodyFrom(encodeParts(e, payloadJson), e.v);
}

/** JCS(whole sealed event): the JSONL line without its newline (spec §3.4). */
export function encodeLine(e: SealedEvent, payloadJson: string): string {
  return lineFrom(encodeParts(e, payloadJson), e.hash, e.sig, e.v);
}

function encodeSig(sig: EventSignature): string {
  return `{"alg":"${sig.alg}","kid":${encodeString(sig.kid, 'sig.kid')},"value":${encodeString(sig.value, 'sig.value')}}`;
}

/** Canonical payload text, enforcing the payload size limit (spec §3.1.1). */
export function encodePayload(payload: unknown, limits: EventLimits = DEFAULT_LIMITS): string {
  const max = limits.maxPayloadBytes;
  let json: string;
  try {
    json = canonicalize(payload, { maxLength: max, path: 'payload' });
  } catch (e) {
    if (e instanceof InvalidInputError && e.details.reason === TOO_LONG) payloadTooLarge(max);
    throw e;
  }
  // UTF-16 length is a lower bound of the UTF-8 length; count bytes only when it can matter.
  if (json.length * 3 > max && Buffer.byteLength(json) > max) payloadTooLarge(max);
  return json;
}

function payloadTooLarge(max: number): never {
  throw new InvalidInputError('INVALID_EVENT', `payload: canonical encoding exceeds the ${max}-byte limit`, {
    details: { field: 'payload', reason: 'too large', limit: max },
  });
}

/** A validated input whose payload is already canonical: everything but its place in the chain. */
export interface PreparedEvent {
  id: string;
  at: string;
  kind: string;
  actor?: string;
  payloadJson: string;
  /** True when the caller chose `at` (idempotent retries compare it). */
  atGiven: boolean;
  /** True when the caller chose `id`; a generated UUIDv7 cannot name an earlier event. */
  idGiven: boolean;
}

/** Validate `input` (spec §3.1) and canonicalize its payload once. Throws InvalidInputError. */
export function prepareEvent(input: EventInput, options: { limits?: EventLimits; now?: () => Date } = {}): PreparedEvent {
  validateInputShape(input);
  const payloadJson = encodePayload(input.payload, options.limits);
  const now = input.id === undefined || input.at === undefined ? (options.now?.() ?? new Date()) : undefined;
  return {
    id: input.id ?? uuidv7(now!.getTime()),
    at: input.at ?? now!.toISOString(),
    kind: input.kind,
    ...(input.actor === undefined ? {} : { actor: input.actor }),
    payloadJson,
    atGiven: input.at !== undefined,
    idGiven: input.id !== undefined,
  };
}

/** Give a prepared event its place in the chain and compute its seal (spec §3.3). Pure. */
export function sealPrepared(p: PreparedEvent, seq: number, prev: string): SealedRecord {
  // Parsed from the canonical text so the event owns no caller references.
  const payload = JSON.parse(p.payloadJson) as JsonValue;
  // One literal per shape, its hash filled in below: object spreads here cost about a
  // microsecond per event on the append path.
  const event: SealedEvent =
    p.actor === undefined
      ? { v: FORMAT_VERSION, seq, id: p.id, at: p.at, kind: p.kind, payload, prev, hash: '' }
      : { v: FORMAT_VERSION, seq, id: p.id, at: p.at, kind: p.kind, actor: p.actor, payload, prev, hash: '' };
  const parts = encodeParts(event, p.payloadJson);
  const hash = leafHash(bodyFrom(parts, FORMAT_VERSION));
  event.hash = hash.toString('hex');
  return { event, line: lineFrom(parts, event.hash, undefined, FORMAT_VERSION), hash, payloadJson: p.payloadJson };
}

/** Validate `input` and seal it at `seq` after `prev`. Throws InvalidInputError; pure. */
export function sealRecord(input: EventInput, options: SealOptions): SealedRecord {
  return sealPrepared(prepareEvent(input, options), options.seq, options.prev);
}

/**
 * Attach a signature to a sealed record, keeping its line canonical (spec §4.1). `sig` sorts
 * just before `v`, the last member, so an unsigned line takes it by splicing: its other members
 * are not escaped again (a signed batch's appending thread attaches a signature per event).
 */
export function withSignature(record: SealedRecord, sig: EventSignature): SealedRecord {
  const event: SealedEvent = Object.assign({}, record.event, { sig });
  const last = `"v":${event.v}}`;
  const line =
    record.event.sig === undefined && record.line.endsWith(last)
      ? `${record.line.slice(0, record.line.length - last.length)}"sig":${encodeSig(sig)},${last}`
      : encodeLine(event, record.payloadJson);
  return { event, line, hash: record.hash, payloadJson: record.payloadJson };
}

/** Public form of {@link sealRecord}: returns just the sealed event (spec §3.3). */
export function sealEvent(input: EventInput, options: SealOptions): SealedEvent {
  return sealRecord(input, options).event;
}

/** Recompute the hash of an event (spec §3.3). The event's structure must already be valid. */
export function computeEventHash(event: SealedEvent): Buffer {
  const { hash: _h, sig: _s, ...body } = event;
  return leafHash(encodeBody(body, canonicalize(event.payload, { path: 'payload' })));
}

/** Throws VerificationError(SEAL_MISMATCH) with expected/actual when `hash` is not the seal. */
export function verifyEventSeal(event: SealedEvent): void {
  const actual = computeEventHash(event).toString('hex');
  if (actual !== event.hash) {
    throw new VerificationError('SEAL_MISMATCH', `event seq ${event.seq}: hash does not match its content`, {
      expected: event.hash,
      actual,
      details: { seq: event.seq, id: event.id },
    });
  }
}
