/**
 * Reading one JSONL line back (spec §3.4, §7.2): untrusted bytes in, a verified SealedRecord or a
 * typed error out. The line must be exactly the canonical encoding of a structurally valid event
 * whose hash is its seal; signatures and the chain are the caller's next checks.
 */
import { InvalidInputError, VerificationError } from '../errors.js';
import { leafHash } from '../crypto/domain.js';
import { canonicalize } from './canonical.js';
import {
  FORMAT_VERSION,
  HASH_PATTERN,
  KID_PATTERN,
  type SealedEvent,
  validateActor,
  validateAt,
  validateId,
  validateKind,
} from './event.js';
import { encodeBody, encodeLine, type SealedRecord } from './seal.js';
import { canonicalTopMembers, type TopMember } from './canonical-scan.js';

const EVENT_FIELDS = new Set(['v', 'seq', 'id', 'at', 'kind', 'actor', 'payload', 'prev', 'hash', 'sig']);
const SIG_VALUE = /^[A-Za-z0-9+/]{86}==$/;

export interface LineLocation {
  /** 1-based line number in events.jsonl, for messages. */
  lineNo?: number;
  /** Byte offset of the line's first byte. */
  offset?: number;
}

function malformed(reason: string, at: LineLocation, extra: Record<string, unknown> = {}): never {
  const where = at.lineNo === undefined ? '' : `line ${at.lineNo}: `;
  throw new InvalidInputError('MALFORMED_LINE', `${where}${reason}`, { details: { ...at, reason, ...extra } });
}

/** Structural check of a parsed object as a sealed event (spec §3.2). */
export function assertSealedEventShape(o: unknown, at: LineLocation = {}): asserts o is SealedEvent {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) malformed('not a JSON object', at);
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!EVENT_FIELDS.has(k)) malformed(`unknown field "${k.slice(0, 40)}"`, at);
  if (r.v !== FORMAT_VERSION) malformed(`unsupported format version ${JSON.stringify(r.v)}`, at);
  if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || r.seq < 0) malformed('seq must be a non-negative integer', at);
  if (typeof r.prev !== 'string' || !HASH_PATTERN.test(r.prev)) malformed('prev must be 64 lowercase hex digits', at);
  if (typeof r.hash !== 'string' || !HASH_PATTERN.test(r.hash)) malformed('hash must be 64 lowercase hex digits', at);
  if (!('payload' in r)) malformed('payload missing', at);
  try {
    validateId(r.id);
    validateAt(r.at);
    validateKind(r.kind);
    if (r.actor !== undefined) validateActor(r.actor);
  } catch (e) {
    malformed((e as Error).message, at);
  }
  if (r.sig !== undefined) {
    const s = r.sig as Record<string, unknown>;
    if (
      typeof s !== 'object' || s === null || Array.isArray(s) || Object.keys(s).length !== 3 ||
      s.alg !== 'ed25519' || typeof s.kid !== 'string' || !KID_PATTERN.test(s.kid) ||
      typeof s.value !== 'string' || !SIG_VALUE.test(s.value) ||
      Buffer.from(s.value, 'base64').toString('base64') !== s.value
    ) {
      malformed('sig must be {alg:"ed25519", kid, value: base64 of 64 bytes}', at);
    }
  }
}

/**
 * Parse and check one line (without its "\n"). Throws MALFORMED_LINE for anything that is not a
 * canonical sealed event, SEAL_MISMATCH when the content does not hash to `hash`.
 */
export function parseEventLine(line: string, at: LineLocation = {}): SealedRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    malformed('not valid JSON', at);
  }
  assertSealedEventShape(parsed, at);
  const event = parsed;
  const fast = sealedParts(line);
  let payloadJson: string;
  let body: string;
  if (fast !== undefined) {
    ({ payloadJson, body } = fast);
  } else {
    // Not provably canonical: the canonicalizer decides, and names the reason when it refuses.
    try {
      payloadJson = canonicalize(event.payload, { path: 'payload' });
    } catch (e) {
      malformed((e as Error).message, at);
    }
    if (encodeLine(event, payloadJson) !== line) malformed('not in canonical (RFC 8785) form', at);
    const { hash: _h, sig: _s, ...unsealed } = event;
    body = encodeBody(unsealed, payloadJson);
  }
  const hash = leafHash(body);
  const actual = hash.toString('hex');
  if (actual !== event.hash) {
    throw new VerificationError('SEAL_MISMATCH', `${at.lineNo === undefined ? '' : `line ${at.lineNo}: `}event seq ${event.seq}: hash does not match its content`, {
      expected: event.hash,
      actual,
      details: { ...at, seq: event.seq, id: event.id },
    });
  }
  return { event, line, hash, payloadJson };
}

/**
 * The canonical payload and the sealed body (spec §3.3) cut out of a line that is already one
 * canonical JSON object, or undefined when it is not provably so. The event's shape is the
 * caller's check: with it, a canonical line is exactly encodeLine's output, and the body is the
 * line without its `hash` and `sig` members (each followed by a comma, since `v` comes last).
 */
function sealedParts(line: string): { payloadJson: string; body: string } | undefined {
  const members = canonicalTopMembers(line);
  if (members === undefined) return undefined;
  let payload: TopMember | undefined;
  let hash: TopMember | undefined;
  let sig: TopMember | undefined;
  for (const m of members) {
    if (m.key === 'payload') payload = m;
    else if (m.key === 'hash') hash = m;
    else if (m.key === 'sig') sig = m;
  }
  if (payload === undefined || hash === undefined) return undefined;
  const body =
    sig === undefined
      ? line.slice(0, hash.keyStart) + line.slice(hash.valueEnd + 1)
      : line.slice(0, hash.keyStart) + line.slice(hash.valueEnd + 1, sig.keyStart) + line.slice(sig.valueEnd + 1);
  return { payloadJson: line.slice(payload.valueStart, payload.valueEnd), body };
}
