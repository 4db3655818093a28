/**
 * C2SP signed-note Ed25519 verifier keys (spec §12.3): `<name>+<hex key id>+<base64(0x01 || key)>`,
 * the format of golang.org/x/mod/sumdb/note.NewVerifier.
 */
import { NOTE_ED25519_TYPE, noteKeyHash } from '../crypto/domain.js';
import { KeyError } from '../errors.js';
import { decodeBase64Strict, encodeBase64 } from '../codec/strict-base64.js';

/** A trusted note key: name, 4-byte key id and 32-byte Ed25519 public key. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyHash: Buffer;
  readonly publicKey: Buffer;
}

// Unicode White_Space is exactly what Go's unicode.IsSpace tests, so names are judged as
// golang.org/x/mod/sumdb/note judges them. (The project's own key names obey the stricter
// rule of src/crypto/key-name.ts; this one is for names found in foreign notes.)
const SPACE = /\p{White_Space}/u;
const CONTROL = /[\u0000-\u001f]/;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * C2SP signed-note key names: non-empty, no Unicode spaces, no '+', well-formed Unicode.
 * Control characters cannot appear either, since notes forbid them.
 */
export function isValidKeyName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    !name.includes('+') &&
    !SPACE.test(name) &&
    !LONE_SURROGATE.test(name) &&
    !CONTROL.test(name)
  );
}

function invalidKey(message: string, details: Record<string, unknown> = {}): KeyError {
  return new KeyError('INVALID_KEY', message, { details });
}

/** The verifier key string for an Ed25519 public key, e.g. for the log's published key. */
export function verifierKeyString(name: string, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) throw invalidKey('invalid note key name', { name });
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw invalidKey('an Ed25519 public key is 32 bytes', { name });
  }
  const keyHash = noteKeyHash(name, publicKey).toString('hex');
  const encoded = encodeBase64(Buffer.concat([Uint8Array.of(NOTE_ED25519_TYPE), publicKey]));
  return `${name}+${keyHash}+${encoded}`;
}

/**
 * Parses and checks a verifier key string: the key id must be the one derived from name and key,
 * and the algorithm must be Ed25519 (0x01). Throws KeyError INVALID_KEY otherwise.
 */
export function parseVerifierKey(text: string): NoteVerifier {
  if (typeof text !== 'string') throw invalidKey('verifier key must be a string');
  // The name cannot contain '+', the id is hex, so the first two '+' are the separators; base64
  // may contain further '+' characters.
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw invalidKey('verifier key must look like <name>+<hex id>+<base64 key>');
  const name = text.slice(0, first);
  const idHex = text.slice(first + 1, second);
  const keyB64 = text.slice(second + 1);
  if (!isValidKeyName(name)) throw invalidKey('invalid note key name', { name });
  // One accepted encoding (spec §12.3): the lower-case hex verifierKeyString writes.
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw invalidKey('key id must be 8 lower-case hex digits', { name });
  const key = decodeBase64Strict(keyB64);
  if (key === undefined || key.length === 0) throw invalidKey('key is not canonical base64', { name });
  if (key[0] !== NOTE_ED25519_TYPE) throw invalidKey('unsupported note signature algorithm', { name, algorithm: key[0] });
  if (key.length !== 33) throw invalidKey('an Ed25519 public key is 32 bytes', { name });
  const publicKey = key.subarray(1);
  const keyHash = noteKeyHash(name, publicKey);
  if (!keyHash.equals(Buffer.from(idHex, 'hex'))) {
    throw invalidKey('key id does not match name and key', { name, expected: keyHash.toString('hex'), actual: idHex });
  }
  return { name, keyHash, publicKey: Buffer.from(publicKey) };
}
