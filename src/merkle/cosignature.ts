/**
 * C2SP tlog-cosignature, Ed25519 `cosignature/v1` (c2sp.org/tlog-cosignature, spec §19.5).
 *
 * A cosignature is a signed-note signature line on a checkpoint:
 *
 *     — <witness name> base64(key ID (4) || timestamp (8, big-endian) || Ed25519 signature (64))
 *
 * key ID  = SHA-256(<name> || 0x0A || 0x04 || 32-byte public key)[:4]
 * message = "cosignature/v1\n" || "time <timestamp, decimal>\n" || checkpoint note text
 *
 * The type byte 0x04 keeps a witness key apart from a log key (type 0x01): the same public key
 * gets another key ID, and a cosignature never verifies as a note signature or vice versa.
 */
import { assertValidPublicKey, verifyEd25519 } from '../crypto/ed25519.js';
import { sha256 } from '../crypto/hash.js';
import { KeyError, ProofError } from '../errors.js';
import { formatCheckpoint, parseCheckpoint, type CheckpointBody } from './checkpoint.js';
import { parseNote, type NoteSignature } from './signed-note.js';
import { decodeBase64Strict, encodeBase64 } from '../codec/strict-base64.js';
import { isValidKeyName } from './verifier-key.js';

/** C2SP signed-note signature type of Ed25519 cosignature/v1 keys. */
export const COSIGNATURE_V1_TYPE = 0x04;
/** Header line of the signed message: the domain separation of cosignature/v1. */
export const COSIGNATURE_V1_HEADER = 'cosignature/v1';
/** Key ID, timestamp and signature: the decoded length of every Ed25519 cosignature. */
export const COSIGNATURE_V1_LENGTH = 4 + 8 + 64;
/** tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1. */
export const MAX_COSIGNATURE_TIMESTAMP = (1n << 63n) - 1n;

const SIGNATURE_PREFIX = '\u2014 ';

/** A witness key that cosigns: name, 32-byte public key, and a raw Ed25519 signing function. */
export interface CosignatureSigner {
  readonly name: string;
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** A trusted witness key. */
export interface CosignatureVerifier {
  readonly name: string;
  readonly keyHash: Buffer;
  readonly publicKey: Buffer;
}

/** A cosignature that verified. */
export interface VerifiedCosignature {
  readonly name: string;
  /** The 4-byte key ID as 8 lowercase hex digits. */
  readonly keyId: string;
  /** POSIX seconds. */
  readonly timestamp: number;
}

function invalidKey(message: string, details: Record<string, unknown> = {}): KeyError {
  return new KeyError('INVALID_KEY', message, { details });
}

function invalidCosignature(message: string, details: Record<string, unknown> = {}): ProofError {
  return new ProofError('INVALID_SIGNATURE', message, { details });
}

function checkName(name: string): void {
  if (!isValidKeyName(name)) throw invalidKey('invalid witness key name', { name });
}

function checkPublicKey(name: string, publicKey: Uint8Array): void {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw invalidKey('an Ed25519 public key is 32 bytes', { name });
  }
  // A small-order or non-canonical key would let anyone "cosign" (spec §6.3).
  assertValidPublicKey(publicKey);
}

/** SHA-256(name || "\n" || 0x04 || key)[:4]: the key ID of a cosignature/v1 key. */
export function cosignatureKeyHash(name: string, publicKey: Uint8Array): Buffer {
  checkName(name);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw invalidKey('an Ed25519 public key is 32 bytes', { name });
  }
  return sha256(Buffer.from(name, 'utf8'), Uint8Array.of(0x0a, COSIGNATURE_V1_TYPE), publicKey).subarray(0, 4);
}

/** The C2SP verifier key of a witness key: `<name>+<hex key ID>+<base64(0x04 || key)>`. */
export function cosignatureVerifierKeyString(name: string, publicKey: Uint8Array): string {
  checkPublicKey(name, publicKey);
  const keyHash = cosignatureKeyHash(name, publicKey).toString('hex');
  return `${name}+${keyHash}+${encodeBase64(Buffer.concat([Uint8Array.of(COSIGNATURE_V1_TYPE), publicKey]))}`;
}

/**
 * Parses a cosignature/v1 verifier key. The type byte must be 0x04, the key a valid Ed25519
 * public key, and the key ID the one derived from name and key. Throws KeyError INVALID_KEY.
 */
export function parseCosignatureVerifierKey(text: string): CosignatureVerifier {
  if (typeof text !== 'string') throw invalidKey('verifier key must be a string');
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw invalidKey('verifier key must look like <name>+<hex id>+<base64 key>');
  const name = text.slice(0, first);
  const idHex = text.slice(first + 1, second);
  checkName(name);
  if (!/^[0-9a-f]{8}$/i.test(idHex)) throw invalidKey('key id must be 8 hex digits', { name });
  const key = decodeBase64Strict(text.slice(second + 1));
  if (key === undefined || key.length === 0) throw invalidKey('key is not canonical base64', { name });
  if (key[0] !== COSIGNATURE_V1_TYPE) {
    throw invalidKey('not a cosignature/v1 key (signature type 0x04)', { name, algorithm: key[0] });
  }
  if (key.length !== 33) throw invalidKey('an Ed25519 public key is 32 bytes', { name });
  const publicKey = Buffer.from(key.subarray(1));
  checkPublicKey(name, publicKey);
  const keyHash = cosignatureKeyHash(name, publicKey);
  if (!keyHash.equals(Buffer.from(idHex, 'hex'))) {
    throw invalidKey('key id does not match name and key', { name, expected: keyHash.toString('hex'), actual: idHex });
  }
  return { name, keyHash, publicKey };
}

/** The verifier of a signer, with every check of parseCosignatureVerifierKey. */
export function cosignatureVerifierOf(signer: { name: string; publicKey: Uint8Array }): CosignatureVerifier {
  return parseCosignatureVerifierKey(cosignatureVerifierKeyString(signer.name, signer.publicKey));
}

function checkTimestamp(timestamp: number | bigint): bigint {
  const t = typeof timestamp === 'bigint' ? timestamp : Number.isSafeInteger(timestamp) ? BigInt(timestamp) : -1n;
  if (t < 0n || t > MAX_COSIGNATURE_TIMESTAMP) {
    throw new ProofError('INVALID_CHECKPOINT', 'cosignature timestamp must be an integer in 0..2^63-1', {
      details: { timestamp: String(timestamp) },
    });
  }
  return t;
}

/**
 * The checkpoint text exactly as it must be signed. Like the reference implementations, only a
 * text that is a well-formed checkpoint (and re-encodes to the same bytes) is cosigned.
 */
function checkpointText(text: string): { text: string; body: CheckpointBody } {
  const body = parseCheckpoint(text);
  if (formatCheckpoint(body) !== text) {
    throw new ProofError('INVALID_CHECKPOINT', 'checkpoint text is not in its one canonical form');
  }
  return { text, body };
}

/** "cosignature/v1\ntime <t>\n" followed by the checkpoint note text (final newline included). */
export function cosignatureMessage(timestamp: number | bigint, text: string): Buffer {
  const t = checkTimestamp(timestamp);
  return Buffer.from(`${COSIGNATURE_V1_HEADER}\ntime ${t.toString()}\n${checkpointText(text).text}`, 'utf8');
}

/**
 * Cosigns checkpoint note `text` at `timestamp` (POSIX seconds) and returns the signature line,
 * ending in "\n". The signature is verified against the signer's public key before it is
 * returned, so a faulty signer cannot emit a cosignature that does not verify.
 */
export function cosignCheckpoint(text: string, signer: CosignatureSigner, timestamp: number | bigint): string {
  checkPublicKey(signer.name, signer.publicKey);
  const t = checkTimestamp(timestamp);
  const message = cosignatureMessage(t, text);
  const signature = signer.sign(message);
  if (!(signature instanceof Uint8Array) || !verifyEd25519(signer.publicKey, message, signature)) {
    throw invalidKey('witness signer produced a signature its public key does not verify', { name: signer.name });
  }
  const stamp = Buffer.alloc(8);
  stamp.writeBigUInt64BE(t);
  const raw = Buffer.concat([cosignatureKeyHash(signer.name, signer.publicKey), stamp, signature]);
  return `${SIGNATURE_PREFIX}${signer.name} ${encodeBase64(raw)}\n`;
}

/**
 * Checks one signature line's bytes (after the key ID) as a cosignature of `text` by `verifier`.
 * Throws INVALID_SIGNATURE; returns the timestamp.
 */
function verifyCosignatureBytes(text: string, verifier: CosignatureVerifier, signature: Buffer): number {
  const id = `${verifier.name}+${verifier.keyHash.toString('hex')}`;
  if (signature.length !== COSIGNATURE_V1_LENGTH - 4) {
    throw invalidCosignature(`cosignature of ${id} has the wrong length`, { key: id, length: signature.length + 4 });
  }
  const t = signature.readBigUInt64BE(0);
  if (t > MAX_COSIGNATURE_TIMESTAMP) throw invalidCosignature(`cosignature of ${id} has a timestamp above 2^63-1`, { key: id });
  // tlog-cosignature lets verifiers refuse future timestamps; 2^53 s is 285 million years away.
  if (t > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidCosignature(`cosignature of ${id} has a timestamp in the far future`, { key: id });
  if (!verifyEd25519(verifier.publicKey, cosignatureMessage(t, text), signature.subarray(8))) {
    throw invalidCosignature(`invalid cosignature for witness key ${id}`, { key: id });
  }
  return Number(t);
}

/** The timestamp of a cosignature line's decoded bytes (key ID, timestamp, signature). */
export function cosignatureTimestamp(raw: Uint8Array): number {
  if (!(raw instanceof Uint8Array) || raw.length !== COSIGNATURE_V1_LENGTH) {
    throw invalidCosignature('a cosignature/v1 signature is 76 bytes');
  }
  const t = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).readBigUInt64BE(4);
  if (t > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidCosignature('cosignature timestamp out of range');
  return Number(t);
}

function verifierTable(verifiers: readonly (string | CosignatureVerifier)[]): Map<string, CosignatureVerifier> {
  const table = new Map<string, CosignatureVerifier>();
  for (const v of verifiers) {
    const parsed = typeof v === 'string' ? parseCosignatureVerifierKey(v) : cosignatureVerifierOf(v);
    const id = `${parsed.name}+${parsed.keyHash.toString('hex')}`;
    const prior = table.get(id);
    if (prior !== undefined && !prior.publicKey.equals(parsed.publicKey)) {
      throw new KeyError('INVALID_KEYRING', `ambiguous witness key ${id}`, { details: { key: id } });
    }
    table.set(id, parsed);
  }
  return table;
}

/**
 * Verifies the cosignatures in a signed checkpoint note against trusted witness keys. Lines from
 * other keys (the log's own signature included) are ignored, as C2SP requires; every line that
 * names a trusted witness key must verify (else INVALID_SIGNATURE). Returns the verified
 * cosignatures, one per key, in note order; possibly none. The log's signature is NOT checked
 * here: use verifyCheckpoint for that, on the same note.
 */
export function verifyCosignatures(
  note: string | Uint8Array,
  witnesses: readonly (string | CosignatureVerifier)[],
): VerifiedCosignature[] {
  const table = verifierTable(witnesses);
  const { text, signatures } = parseNote(note);
  checkpointText(text);
  const seen = new Set<string>();
  const verified: VerifiedCosignature[] = [];
  for (const sig of signatures as readonly NoteSignature[]) {
    const id = `${sig.name}+${sig.keyId}`;
    const verifier = table.get(id);
    if (verifier === undefined) continue;
    const timestamp = verifyCosignatureBytes(text, verifier, sig.signature);
    if (!seen.has(id)) verified.push({ name: sig.name, keyId: sig.keyId, timestamp });
    seen.add(id);
  }
  return verified;
}
