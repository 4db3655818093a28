/**
 * Strict Ed25519 (spec §6). The fast path is node:crypto behind byte-level pre-checks; the
 * portable path (ed25519-portable.ts) computes the same cofactorless equation with @noble/ed25519.
 * Both accept exactly the same set of (public key, message, signature) triples.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { InvalidInputError, KeyError } from '../errors.js';
import { decodePointStrict } from './ed25519-portable.js';

export { signEd25519Portable, verifyEd25519Portable } from './ed25519-portable.js';

export const PUBLIC_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;
export const SEED_LENGTH = 32;

// RFC 8410 DER prefixes: appending the 32 raw bytes yields a complete SPKI / PKCS#8 structure.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The group order L, little-endian (RFC 8032 §5.1). */
const L_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

/**
 * The canonical encodings of the 8 points of order dividing 8 (spec §6.3). Every other encoding
 * of these points is non-canonical and fails spec §6.2 first. The test suite re-derives this
 * list from the group law, so a typo here cannot go unnoticed.
 */
const SMALL_ORDER_ENCODINGS: ReadonlySet<string> = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000', // identity
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
]);

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function assertBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidInputError('INVALID_ARGUMENT', `${what} must be a Uint8Array`, { details: { field: what } });
  }
}

/**
 * Why a 32-byte point encoding is not canonical (spec §6.2), or undefined when it is.
 * Byte-level only: it does not check that the encoding decodes to a curve point.
 */
export function pointEncodingProblem(b: Uint8Array): string | undefined {
  // y >= p = 2^255 - 19 exactly when the 255 low bits are 0x7fff...ffed or above.
  let yAtLeastP = (b[31]! & 0x7f) === 0x7f && b[0]! >= 0xed;
  for (let i = 1; yAtLeastP && i < 31; i++) yAtLeastP = b[i] === 0xff;
  if (yAtLeastP) return 'non-canonical encoding (y >= p)';
  if ((b[31]! & 0x80) !== 0 && (isYOne(b) || isYMinusOne(b))) {
    return 'non-canonical encoding (x = 0 with the sign bit set)';
  }
  return undefined;
}

// x = 0 exactly when y = 1 or y = p - 1 (spec §6.2).
function isYOne(b: Uint8Array): boolean {
  if (b[0] !== 0x01 || (b[31]! & 0x7f) !== 0) return false;
  for (let i = 1; i < 31; i++) if (b[i] !== 0) return false;
  return true;
}

function isYMinusOne(b: Uint8Array): boolean {
  if (b[0] !== 0xec || (b[31]! & 0x7f) !== 0x7f) return false;
  for (let i = 1; i < 31; i++) if (b[i] !== 0xff) return false;
  return true;
}

/** True when the 32 little-endian bytes are an integer below L (spec §6.5). */
export function isReducedScalar(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (s[i]! !== L_LE[i]!) return s[i]! < L_LE[i]!;
  }
  return false; // s == L
}

/** Why `pk` is not an acceptable public key (spec §6.3), or undefined when it is. */
function publicKeyProblem(pk: Uint8Array): string | undefined {
  if (pk.length !== PUBLIC_KEY_LENGTH) return `must be ${PUBLIC_KEY_LENGTH} bytes, got ${pk.length}`;
  const encoding = pointEncodingProblem(pk);
  if (encoding !== undefined) return encoding;
  if (SMALL_ORDER_ENCODINGS.has(hexOf(pk))) return 'small-order point (8·A is the identity)';
  const point = decodePointStrict(pk);
  if (point === undefined) return 'not the encoding of a curve point';
  // Redundant with the list above by construction; kept so the two never silently diverge.
  if (point.isSmallOrder()) return 'small-order point (8·A is the identity)';
  return undefined;
}

/** Throws KeyError INVALID_KEY unless `pk` passes spec §6.3 (length, canonical, on curve, not small order). */
export function assertValidPublicKey(pk: Uint8Array): void {
  assertBytes(pk, 'publicKey');
  const problem = publicKeyProblem(pk);
  if (problem !== undefined) {
    throw new KeyError('INVALID_KEY', `invalid Ed25519 public key: ${problem}`, { details: { reason: problem } });
  }
}

interface CachedPublicKey {
  /** Passed the byte-level checks of spec §6.2 and §6.3. Decoding is left to OpenSSL. */
  readonly acceptable: boolean;
  readonly keyObject: KeyObject | undefined;
}

// Building a KeyObject costs about as much as a verification, and a ledger has few keys.
const KEY_CACHE_LIMIT = 256;
const keyCache = new Map<string, CachedPublicKey>();

function cachedPublicKey(pk: Uint8Array): CachedPublicKey {
  const hex = hexOf(pk);
  const hit = keyCache.get(hex);
  if (hit !== undefined) return hit;
  const acceptable = pointEncodingProblem(pk) === undefined && !SMALL_ORDER_ENCODINGS.has(hex);
  const entry: CachedPublicKey = {
    acceptable,
    keyObject: acceptable
      ? createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pk]), format: 'der', type: 'spki' })
      : undefined,
  };
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(hex, entry);
  return entry;
}

/**
 * Strict Ed25519 verification, fast path (spec §6). Returns false, never throws, for inputs of
 * the wrong length or any invalid encoding. The pre-checks are not optional: OpenSSL alone
 * accepts small-order keys (any message verifies under the identity key) and non-canonical A.
 */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  assertBytes(publicKey, 'publicKey');
  assertBytes(message, 'message');
  assertBytes(signature, 'signature');
  if (publicKey.length !== PUBLIC_KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) return false;
  if (!isReducedScalar(signature.subarray(32, 64))) return false;
  if (pointEncodingProblem(signature.subarray(0, 32)) !== undefined) return false;
  const key = cachedPublicKey(publicKey);
  if (!key.acceptable || key.keyObject === undefined) return false;
  // OpenSSL computes encode([S]B - [k]A) and compares it with the R bytes (spec §6.7).
  return nodeVerify(null, message, key.keyObject, signature);
}

/** A node:crypto private key for a 32-byte RFC 8032 seed. Precondition: seed.length === 32. */
export function privateKeyObjectFromSeed(seed: Uint8Array): KeyObject {
  assertBytes(seed, 'seed');
  if (seed.length !== SEED_LENGTH) {
    throw new KeyError('INVALID_KEY', `an Ed25519 seed is ${SEED_LENGTH} bytes, got ${seed.length}`);
  }
  const der = Buffer.concat([PKCS8_PREFIX, seed]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

/** The 32-byte public key of a private KeyObject. */
export function publicKeyOfKeyObject(privateKey: KeyObject): Uint8Array {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

/** The 32-byte public key of a seed (RFC 8032 §5.1.5). */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return publicKeyOfKeyObject(privateKeyObjectFromSeed(seed));
}

/** Deterministic RFC 8032 §5.1.6 signature with a private KeyObject. */
export function signWithKeyObject(privateKey: KeyObject, message: Uint8Array): Uint8Array {
  assertBytes(message, 'message');
  return nodeSign(null, message, privateKey);
}

/** Deterministic RFC 8032 §5.1.6 signature, fast path. Precondition: seed.length === 32. */
export function signEd25519(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return signWithKeyObject(privateKeyObjectFromSeed(seed), message);
}
