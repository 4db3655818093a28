/**
 * The portable Ed25519 path (spec §6.9): the strict cofactorless rules of spec §6 written out
 * with @noble/ed25519 point arithmetic. It shares no code with node:crypto, hashing included,
 * which is why it hashes with @noble/hashes rather than src/crypto/hash.ts: it is the
 * independent oracle the fast path is tested against, and a fallback where OpenSSL is absent.
 *
 * noble's own `verify` is not used: it checks the cofactored equation [8][S]B = [8]R + [8][k]A,
 * which accepts signatures that the cofactorless equation (and OpenSSL) rejects.
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { InvalidInputError, KeyError } from '../errors.js';

const { Point } = ed;
type Point = InstanceType<typeof Point>;

/** The group order L (RFC 8032 §5.1). */
const L = Point.CURVE().n;

// noble's synchronous sign() needs a SHA-512; respect one a host application already installed.
if (ed.hashes.sha512 === undefined) ed.hashes.sha512 = sha512;

function littleEndianToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * RFC 8032 §5.1.3 decoding with the strict rules of spec §6.2 (y < p, no x = 0 with the sign
 * bit set). Returns undefined when `bytes` is not a canonical encoding of a curve point.
 * Precondition: bytes.length === 32.
 */
export function decodePointStrict(bytes: Uint8Array): Point | undefined {
  try {
    return Point.fromBytes(bytes, false);
  } catch (e) {
    // noble signals "not a valid encoding" with Error/RangeError; a TypeError is a caller bug.
    if (e instanceof TypeError) throw e;
    return undefined;
  }
}

function assertBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidInputError('INVALID_ARGUMENT', `${what} must be a Uint8Array`, { details: { field: what } });
  }
}

/**
 * Strict Ed25519 verification, portable path: accepts exactly what verifyEd25519 accepts
 * (spec §6). Returns false, never throws, for inputs of the wrong length or invalid encodings.
 */
export function verifyEd25519Portable(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  assertBytes(publicKey, 'publicKey');
  assertBytes(message, 'message');
  assertBytes(signature, 'signature');
  if (publicKey.length !== 32 || signature.length !== 64) return false; // §6.1
  const rBytes = signature.subarray(0, 32);
  const s = littleEndianToBigInt(signature.subarray(32, 64));
  if (s >= L) return false; // §6.5
  const A = decodePointStrict(publicKey); // §6.2, §6.3
  if (A === undefined || A.isSmallOrder()) return false; // §6.3
  if (decodePointStrict(rBytes) === undefined) return false; // §6.4
  const k = littleEndianToBigInt(sha512.create().update(rBytes).update(publicKey).update(message).digest()) % L; // §6.6
  // §6.7: cofactorless, compared as bytes. multiply(n, false) is the variable-time ladder;
  // nothing here is secret.
  const check = Point.BASE.multiply(s, false).subtract(A.multiply(k, false));
  return bytesEqual(check.toBytes(), rBytes);
}

/** Deterministic RFC 8032 §5.1.6 signature computed by noble; for cross-checks. */
export function signEd25519Portable(seed: Uint8Array, message: Uint8Array): Uint8Array {
  assertBytes(seed, 'seed');
  assertBytes(message, 'message');
  if (seed.length !== 32) throw new KeyError('INVALID_KEY', `an Ed25519 seed is 32 bytes, got ${seed.length}`);
  return ed.sign(message, seed);
}
