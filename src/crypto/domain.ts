/**
 * Every byte string that sealed-ledger hashes or signs is built here, so that the domain
 * separation of each one can be audited in one place (spec §3, §4, §11).
 */
import { sha256, sha256Hex } from './hash.js';

/** RFC 6962 §2.1 leaf prefix: the event hash is exactly the Merkle leaf hash. */
export const MERKLE_LEAF_PREFIX = 0x00;
/** RFC 6962 §2.1 interior node prefix. */
export const MERKLE_NODE_PREFIX = 0x01;
/** Context line of the message an event signature covers (spec §4). */
export const EVENT_SIGNATURE_CONTEXT = 'sealed-ledger/event/v1';
/** Context of the key id derivation (spec §5.1). */
export const KEY_ID_CONTEXT = 'sealed-ledger/kid/v1';
/** C2SP signed-note signature type byte for Ed25519. */
export const NOTE_ED25519_TYPE = 0x01;

const LEAF_PREFIX_BYTES = Uint8Array.of(MERKLE_LEAF_PREFIX);
const NODE_PREFIX_BYTES = Uint8Array.of(MERKLE_NODE_PREFIX);
const NODE_INPUT = Buffer.alloc(65, MERKLE_NODE_PREFIX);
const EVENT_SIGNATURE_PREFIX = Buffer.from(EVENT_SIGNATURE_CONTEXT + '\n', 'utf8');

/** The message an event signature covers: context || 0x0A || 32 raw hash bytes. */
export function eventSignatureMessage(hash: Uint8Array): Buffer {
  if (hash.length !== 32) throw new RangeError('event hash must be 32 bytes');
  return Buffer.concat([EVENT_SIGNATURE_PREFIX, hash]);
}

/** SHA-256(0x00 || canonical bytes): the event hash and RFC 6962 leaf hash. */
export function leafHash(canonicalBytes: Uint8Array | string): Buffer {
  // A string gets its 0x00 prefix as U+0000, which UTF-8 encodes as the single byte 0x00.
  return typeof canonicalBytes === 'string' ? sha256('\u0000' + canonicalBytes) : sha256(LEAF_PREFIX_BYTES, canonicalBytes);
}

/** leafHash of a canonical text as hex: what a line's `hash` member must equal. */
export function leafHashHex(canonicalText: string): string {
  return sha256Hex('\u0000' + canonicalText);
}

/** SHA-256(0x01 || left || right): an RFC 6962 interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== 32 || right.length !== 32) return sha256(NODE_PREFIX_BYTES, left, right);
  // One reused 65-byte buffer and a one-shot hash: interior nodes are hashed on every append.
  NODE_INPUT.set(left, 1);
  NODE_INPUT.set(right, 33);
  return sha256(NODE_INPUT);
}

/** Key id: the first 8 bytes, hex, of SHA-256(context || 0x0A || public key). Spec §5.1. */
export function keyIdFor(publicKey: Uint8Array): string {
  return sha256(KEY_ID_CONTEXT + '\n', publicKey).toString('hex').slice(0, 16);
}

/** C2SP signed-note key hash: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || key). */
export function noteKeyHash(name: string, publicKey: Uint8Array): Buffer {
  return sha256(Buffer.from(name, 'utf8'), Uint8Array.of(0x0a, NOTE_ED25519_TYPE), publicKey).subarray(0, 4);
}
