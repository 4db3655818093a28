/**
 * Ed25519 signing keys and their key file (spec §5.1, §5.2). The seed lives only in a private
 * field: it is not enumerable, not in toJSON(), not in util.inspect(), and leaves the process
 * only through writeSigningKeyFile.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { inspect } from 'node:util';
import { keyIdFor } from './domain.js';
import { InvalidInputError, KeyError, SealedLedgerError } from '../errors.js';
import { decodeBase64Strict, encodeBase64 } from '../codec/strict-base64.js';
import { writeFileDurably } from '../io/durable-file.js';
import { privateKeyObjectFromSeed, publicKeyOfKeyObject, SEED_LENGTH, signWithKeyObject } from './ed25519.js';
import { keyNameProblem } from './key-name.js';

/** Anything that signs event hashes and checkpoints: ours, or a caller's HSM adapter. */
export interface SigningKey {
  /** keyIdFor(publicKey), spec §5.1. */
  readonly kid: string;
  /** Key name, spec §5.4. */
  readonly name: string;
  readonly publicKey: Uint8Array;
  /** Deterministic RFC 8032 Ed25519 signature of `message`. */
  sign(message: Uint8Array): Uint8Array;
}

export const SIGNING_KEY_FILE_TYPE = 'sealed-ledger-signing-key';
const KEY_FILE_FIELDS = ['type', 'v', 'alg', 'kid', 'name', 'publicKey', 'seed'] as const;
const KEY_FILE_MAX_BYTES = 64 * 1024;
const KEY_FILE_MODE = 0o600;

function invalidKey(message: string, details: Record<string, unknown> = {}): never {
  throw new KeyError('INVALID_KEY', message, { details });
}

let seedOf: (key: Ed25519SigningKey) => Uint8Array;
let keyObjectOf: (key: Ed25519SigningKey) => KeyObject;

class Ed25519SigningKey implements SigningKey {
  readonly kid: string;
  readonly name: string;
  readonly #publicKey: Uint8Array;
  readonly #seed: Uint8Array;
  readonly #privateKey: KeyObject;

  static {
    seedOf = (key) => Uint8Array.from(key.#seed);
    keyObjectOf = (key) => key.#privateKey;
  }

  constructor(seed: Uint8Array, name: string | undefined) {
    if (name !== undefined) {
      const problem = keyNameProblem(name);
      if (problem !== undefined) invalidKey(`key name ${problem}`, { reason: problem });
    }
    this.#seed = Uint8Array.from(seed);
    this.#privateKey = privateKeyObjectFromSeed(this.#seed);
    this.#publicKey = publicKeyOfKeyObject(this.#privateKey);
    this.kid = keyIdFor(this.#publicKey);
    this.name = name ?? `ledger-${this.kid}`;
  }

  /** A copy: mutating it cannot change the key. */
  get publicKey(): Uint8Array {
    return Uint8Array.from(this.#publicKey);
  }

  sign(message: Uint8Array): Uint8Array {
    return signWithKeyObject(this.#privateKey, message);
  }

  toJSON(): { kid: string; name: string; publicKey: string } {
    return { kid: this.kid, name: this.name, publicKey: encodeBase64(this.#publicKey) };
  }

  [inspect.custom](): string {
    return `SigningKey ${inspect(this.toJSON())}`;
  }
}

/**
 * The node:crypto key behind one of this library's signing keys, for the signing threads of the
 * same process (spec §13.8); undefined for any other signer (a caller's adapter signs inline).
 * Internal: not exported from the package.
 */
export function privateKeyObjectOf(signer: unknown): KeyObject | undefined {
  return signer instanceof Ed25519SigningKey ? keyObjectOf(signer) : undefined;
}

/** A fresh key from 32 bytes of node:crypto randomness. Default name: `ledger-<kid>`. */
export function generateSigningKey(options: { name?: string } = {}): SigningKey {
  const seed = randomBytes(SEED_LENGTH);
  try {
    return new Ed25519SigningKey(seed, options.name);
  } finally {
    seed.fill(0);
  }
}

/** The key for a 32-byte RFC 8032 seed. The seed is copied; the caller may wipe its own. */
export function signingKeyFromSeed(seed: Uint8Array, name?: string): SigningKey {
  if (!(seed instanceof Uint8Array)) throw new InvalidInputError('INVALID_ARGUMENT', 'seed must be a Uint8Array');
  return new Ed25519SigningKey(seed, name);
}

function ioError(message: string, path: string, cause: unknown): SealedLedgerError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new SealedLedgerError('IO_ERROR', `${message}: ${code ?? String(cause)}`, { cause, details: { path } });
}

/**
 * Writes `key` as a key file (spec §5.2): mode 0600, created exclusively unless `overwrite`
 * (then replaced atomically), fsynced. Only keys made by this module can be written.
 */
export function writeSigningKeyFile(key: SigningKey, path: string, options: { overwrite?: boolean } = {}): void {
  if (!(key instanceof Ed25519SigningKey)) {
    throw new InvalidInputError('INVALID_ARGUMENT', 'only keys created by sealed-ledger have an exportable seed');
  }
  const seed = seedOf(key);
  const file = {
    type: SIGNING_KEY_FILE_TYPE,
    v: 1,
    alg: 'ed25519',
    kid: key.kid,
    name: key.name,
    publicKey: encodeBase64(key.publicKey),
    seed: encodeBase64(seed),
  };
  seed.fill(0);
  try {
    writeFileDurably(path, JSON.stringify(file, null, 2) + '\n', { mode: KEY_FILE_MODE, overwrite: options.overwrite ?? false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new InvalidInputError('INVALID_ARGUMENT', `key file ${path} already exists; refusing to overwrite it`, {
        cause: e,
        details: { path },
      });
    }
    throw ioError(`cannot write key file ${path}`, path, e);
  }
}

/** Reads the file's text after checking it is a small regular file that only its owner can read. */
function readKeyFileText(path: string): string {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not hang; it is rejected below as not a regular file.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw ioError(`cannot open key file ${path}`, path, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) invalidKey(`key file ${path} is not a regular file`, { path });
    const mode = st.mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      const shown = mode.toString(8).padStart(4, '0');
      invalidKey(`key file ${path} has mode ${shown}; must be 0600 (run: chmod 600 ${path})`, { path, mode: shown });
    }
    if (st.size > KEY_FILE_MAX_BYTES) invalidKey(`key file ${path} is larger than ${KEY_FILE_MAX_BYTES} bytes`, { path });
    const buf = Buffer.alloc(st.size);
    let read = 0;
    for (let n = -1; read < buf.length && n !== 0; read += n) n = readSync(fd, buf, read, buf.length - read, read);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, read));
    } catch {
      // The decoder's error says nothing useful, and must not echo secret bytes.
      return invalidKey(`key file ${path} is not valid UTF-8`, { path });
    } finally {
      buf.fill(0);
    }
  } catch (e) {
    if (e instanceof SealedLedgerError) throw e;
    throw ioError(`cannot read key file ${path}`, path, e);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads and strictly validates a key file (spec §5.2). Throws KeyError INVALID_KEY for a loose
 * mode, malformed content, a seed that does not derive publicKey, or a kid that does not match.
 * Error messages never contain file content.
 */
export function readSigningKeyFile(path: string): SigningKey {
  const text = readKeyFileText(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Neither the parser's message nor the cause is kept: both quote the text, seed included.
    invalidKey(`key file ${path} is not valid JSON`, { path });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) invalidKey(`key file ${path} is not a JSON object`, { path });
  const o = parsed as Record<string, unknown>;
  const bad = (field: string, reason: string): never => invalidKey(`key file ${path}: ${field} ${reason}`, { path, field });
  for (const k of Object.keys(o)) {
    if (!(KEY_FILE_FIELDS as readonly string[]).includes(k)) bad('object', `has an unknown field (allowed: ${KEY_FILE_FIELDS.join(', ')})`);
  }
  if (o.type !== SIGNING_KEY_FILE_TYPE) bad('type', `must be "${SIGNING_KEY_FILE_TYPE}"`);
  if (o.v !== 1) bad('v', 'must be 1');
  if (o.alg !== 'ed25519') bad('alg', 'must be "ed25519"');
  if (typeof o.kid !== 'string' || !/^[0-9a-f]{16}$/.test(o.kid)) bad('kid', 'must be 16 lowercase hex digits');
  const nameProblem = keyNameProblem(o.name);
  if (nameProblem !== undefined) bad('name', nameProblem);
  const publicKey = typeof o.publicKey === 'string' ? decodeBase64Strict(o.publicKey) : undefined;
  if (publicKey?.length !== 32) bad('publicKey', 'must be the canonical base64 of 32 bytes');
  const seed = typeof o.seed === 'string' ? decodeBase64Strict(o.seed) : undefined;
  if (seed?.length !== SEED_LENGTH) bad('seed', 'must be the canonical base64 of 32 bytes');
  const key = new Ed25519SigningKey(seed!, o.name as string);
  seed!.fill(0);
  if (!Buffer.from(key.publicKey).equals(publicKey!)) bad('seed', 'does not derive the publicKey stored in the file');
  if (key.kid !== o.kid) bad('kid', `does not match the public key (expected ${key.kid})`);
  return key;
}
