/**
 * C2SP signed notes with Ed25519 signatures (c2sp.org/signed-note, spec §12.2):
 *
 *     <text ending in \n>
 *     \n
 *     — <key name> <base64(4-byte key id || 64-byte signature)>\n   (one or more)
 *
 * The signed message is the UTF-8 text including its final newline. Output matches
 * golang.org/x/mod/sumdb/note.Sign byte for byte; parsing is at least as strict as note.Open.
 */
import { verifyEd25519 } from '../crypto/ed25519.js';
import { noteKeyHash } from '../crypto/domain.js';
import { KeyError, ProofError } from '../errors.js';
import { decodeBase64Strict, encodeBase64 } from '../codec/strict-base64.js';
import { isValidKeyName, parseVerifierKey, type NoteVerifier } from './verifier-key.js';

/** Beyond this many signature lines a note is rejected (C2SP requires accepting at least 16). */
export const MAX_NOTE_SIGNATURES = 100;

const SIGNATURE_PREFIX = '\u2014 ';
// Notes are UTF-8 without ASCII controls other than newline (C2SP signed-note "Format").
const FORBIDDEN_CONTROL = /[\u0000-\u0009\u000b-\u001f]/;
const LONE_SURROGATE = /\p{Cs}/u;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A key that can sign notes. `sign` returns a 64-byte Ed25519 signature of `message`. */
export interface NoteSigner {
  readonly name: string;
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** One signature line of a note, not yet verified. */
export interface NoteSignature {
  readonly name: string;
  /** The 4-byte key id, big-endian, as 8 lowercase hex digits. */
  readonly keyId: string;
  /** The signature bytes after the key id. */
  readonly signature: Buffer;
}

export interface ParsedNote {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A key that signed a note: its name and key id (8 hex digits). */
export interface NoteSignerRef {
  readonly name: string;
  readonly keyId: string;
}

export interface VerifiedNote {
  readonly text: string;
  /** Trusted keys whose signatures verified, in note order, each once. */
  readonly verified: readonly NoteSignerRef[];
  /** Signatures from keys not in the trusted set: ignored, as C2SP requires. */
  readonly unknown: readonly NoteSignerRef[];
}

function malformed(reason: string): ProofError {
  return new ProofError('INVALID_CHECKPOINT', `malformed signed note: ${reason}`, { details: { reason } });
}

/** Why `text` cannot be (part of) a note, or undefined. */
function noteTextProblem(text: string): string | undefined {
  if (LONE_SURROGATE.test(text)) return 'not valid UTF-8';
  if (FORBIDDEN_CONTROL.test(text)) return 'contains a control character other than newline';
  return undefined;
}

/**
 * Signs `text` with every signer, in order. `text` must be non-empty, end with a newline and
 * contain no control characters other than newline. Each signature is checked against the
 * signer's public key before it is emitted.
 */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (typeof text !== 'string' || !text.endsWith('\n')) throw malformed('note text must end with a newline');
  const problem = noteTextProblem(text);
  if (problem !== undefined) throw malformed(problem);
  if (signers.length === 0) throw malformed('a note needs at least one signature');
  if (signers.length > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  const message = Buffer.from(text, 'utf8');
  const seen = new Set<string>();
  let lines = '';
  for (const signer of signers) {
    if (!isValidKeyName(signer.name)) {
      throw new KeyError('INVALID_KEY', 'invalid note key name', { details: { name: signer.name } });
    }
    if (!(signer.publicKey instanceof Uint8Array) || signer.publicKey.length !== 32) {
      throw new KeyError('INVALID_KEY', 'an Ed25519 public key is 32 bytes', { details: { name: signer.name } });
    }
    const keyHash = noteKeyHash(signer.name, signer.publicKey);
    const id = `${signer.name}+${keyHash.toString('hex')}`;
    if (seen.has(id)) throw new KeyError('INVALID_KEY', 'the same key signs twice', { details: { key: id } });
    seen.add(id);
    const signature = signer.sign(message);
    if (!(signature instanceof Uint8Array) || !verifyEd25519(signer.publicKey, message, signature)) {
      throw new KeyError('INVALID_KEY', 'signer produced a signature its public key does not verify', {
        details: { key: id },
      });
    }
    lines += `${SIGNATURE_PREFIX}${signer.name} ${encodeBase64(Buffer.concat([keyHash, signature]))}\n`;
  }
  return `${text}\n${lines}`;
}

/** Splits a note into text and signature lines without verifying anything. */
export function parseNote(note: string | Uint8Array): ParsedNote {
  let s: string;
  if (typeof note === 'string') {
    s = note;
  } else if (note instanceof Uint8Array) {
    try {
      s = UTF8.decode(note);
    } catch {
      throw malformed('not valid UTF-8');
    }
  } else {
    throw malformed('a note must be a string or bytes');
  }
  const problem = noteTextProblem(s);
  if (problem !== undefined) throw malformed(problem);
  // The text is separated from the signatures by the last empty line.
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the signatures');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) throw malformed('signature block must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line): NoteSignature => {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw malformed('signature line must start with an em dash and a space');
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) throw malformed('signature line needs a key name and a signature');
    const name = rest.slice(0, space);
    if (!isValidKeyName(name)) throw malformed('invalid key name in signature line');
    const raw = decodeBase64Strict(rest.slice(space + 1));
    if (raw === undefined || raw.length < 5) throw malformed('signature is not canonical base64 of at least 5 bytes');
    return { name, keyId: raw.subarray(0, 4).toString('hex'), signature: Buffer.from(raw.subarray(4)) };
  });
  return { text, signatures };
}

function verifierTable(verifiers: readonly (string | NoteVerifier)[]): Map<string, NoteVerifier> {
  const table = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const parsed = typeof v === 'string' ? parseVerifierKey(v) : checkedVerifier(v);
    const id = `${parsed.name}+${parsed.keyHash.toString('hex')}`;
    const prior = table.get(id);
    if (prior !== undefined && !prior.publicKey.equals(parsed.publicKey)) {
      // Two keys answering to the same name and id: refuse to guess which one is meant.
      throw new KeyError('INVALID_KEYRING', `ambiguous note key ${id}`, { details: { key: id } });
    }
    table.set(id, parsed);
  }
  return table;
}

function checkedVerifier(v: NoteVerifier): NoteVerifier {
  if (!isValidKeyName(v.name)) throw new KeyError('INVALID_KEY', 'invalid note key name', { details: { name: v.name } });
  if (!(v.publicKey instanceof Uint8Array) || v.publicKey.length !== 32) {
    throw new KeyError('INVALID_KEY', 'an Ed25519 public key is 32 bytes', { details: { name: v.name } });
  }
  const keyHash = noteKeyHash(v.name, v.publicKey);
  if (!(v.keyHash instanceof Uint8Array) || !keyHash.equals(v.keyHash)) {
    throw new KeyError('INVALID_KEY', 'key id does not match name and key', { details: { name: v.name } });
  }
  return { name: v.name, keyHash, publicKey: Buffer.from(v.publicKey) };
}

/**
 * Verifies a note against trusted keys (verifier key strings or parsed keys). Signatures from
 * unknown keys are ignored; every signature from a trusted key must verify (else
 * INVALID_SIGNATURE); at least one must exist (else UNKNOWN_KEY).
 */
export function verifyNote(note: string | Uint8Array, verifiers: readonly (string | NoteVerifier)[]): VerifiedNote {
  const table = verifierTable(verifiers);
  const { text, signatures } = parseNote(note);
  const message = Buffer.from(text, 'utf8');
  const verified: NoteSignerRef[] = [];
  const unknown: NoteSignerRef[] = [];
  const seen = new Set<string>();
  for (const sig of signatures) {
    const id = `${sig.name}+${sig.keyId}`;
    const verifier = table.get(id);
    if (verifier === undefined) {
      if (!seen.has(id)) unknown.push({ name: sig.name, keyId: sig.keyId });
    } else {
      if (!verifyEd25519(verifier.publicKey, message, sig.signature)) {
        throw new ProofError('INVALID_SIGNATURE', `invalid signature for note key ${id}`, { details: { key: id } });
      }
      if (!seen.has(id)) verified.push({ name: sig.name, keyId: sig.keyId });
    }
    seen.add(id);
  }
  if (verified.length === 0) {
    throw new ProofError('UNKNOWN_KEY', 'note has no signature from a trusted key', {
      details: { signers: unknown.map((u) => `${u.name}+${u.keyId}`) },
    });
  }
  return { text, verified, unknown };
}
