/**
 * What every reader of events.jsonl enforces on a line before it mirrors or accepts it (spec
 * §3.1.1, §7.1): the ledger's signing policy and its size limits, as recorded in ledger.json.
 * Reconcile, replay and verify apply the same rules appends do, so a line an append would have
 * refused can never enter ledger.db through a recovery path.
 */
import { VerificationError } from '../errors.js';
import { DEFAULT_LIMITS, type EventHeader, type EventLimits, type SealedEvent } from '../format/event.js';
import type { LedgerMetadata } from './metadata.js';

/**
 * Bytes a line may hold beyond its canonical payload: v, seq, id (128), at, kind (128), actor
 * (256 UTF-16 units, at most 3 UTF-8 bytes each, escapes included), prev, hash and sig come to
 * under 2 KiB; 4 KiB leaves room without letting a line grow unbounded.
 */
export const LINE_OVERHEAD_BYTES = 4096;

export interface ReadPolicy {
  /** Events from this seq on must be signed; undefined: signatures optional. */
  signaturesRequiredFrom: number | undefined;
  limits: EventLimits;
  /** The longest line (without its "\n") a reader accepts. */
  maxLineBytes: number;
}

export function maxLineBytesFor(limits: EventLimits): number {
  return limits.maxPayloadBytes + LINE_OVERHEAD_BYTES;
}

/** The recorded policy, made stricter (never looser) by a caller's `requireSignatures`. */
export function readPolicyOf(meta: Pick<LedgerMetadata, 'signaturesRequiredFrom' | 'maxPayloadBytes'> | undefined, requireSignatures = false): ReadPolicy {
  const recorded = meta?.signaturesRequiredFrom;
  const limits: EventLimits = { maxPayloadBytes: meta?.maxPayloadBytes ?? DEFAULT_LIMITS.maxPayloadBytes };
  return {
    signaturesRequiredFrom: requireSignatures ? 0 : recorded,
    limits,
    maxLineBytes: maxLineBytesFor(limits),
  };
}

export const OPEN_POLICY: ReadPolicy = readPolicyOf(undefined);

/** SIGNATURE_REQUIRED for an unsigned event the policy covers; undefined when it may stand. */
export function signaturePolicyViolation(ev: EventHeader, policy: ReadPolicy, where: { offset?: number; lineNo?: number } = {}): VerificationError | undefined {
  const from = policy.signaturesRequiredFrom;
  if (ev.sig !== undefined || from === undefined || ev.seq < from) return undefined;
  return new VerificationError('SIGNATURE_REQUIRED', `seq ${ev.seq} is not signed, but this ledger requires signed events from seq ${from}`, {
    details: { seq: ev.seq, requiredFrom: from, ...where },
  });
}

/** The §3.1.1 reason a stored line breaks the limits, or undefined. */
export function limitViolation(lineBytes: number, payloadJson: string | undefined, policy: ReadPolicy): string | undefined {
  if (lineBytes > policy.maxLineBytes) return `line is longer than ${policy.maxLineBytes} bytes (spec §3.1.1)`;
  const max = policy.limits.maxPayloadBytes;
  if (payloadJson !== undefined && payloadJson.length * 3 > max && Buffer.byteLength(payloadJson) > max) {
    return `canonical payload exceeds the ${max}-byte limit (spec §3.1.1)`;
  }
  return undefined;
}
