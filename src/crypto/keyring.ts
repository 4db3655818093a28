/**
 * A keyring of public keys with validity windows (spec §5.3). A key is valid for an event when
 * validFromSeq <= seq < retiredAtSeq and validFrom <= at < validUntil (absent bounds are open).
 * Retiring a key closes its window; events inside the old window stay verifiable.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { keyIdFor } from './domain.js';
import { InvalidInputError, KeyError, SealedLedgerError } from '../errors.js';
import { decodeBase64Strict, encodeBase64 } from '../codec/strict-base64.js';
import { writeFileDurably } from '../io/durable-file.js';
import { assertValidPublicKey } from './ed25519.js';
import { keyNameProblem } from './key-name.js';
import { utcSortKey } from '../codec/utc-timestamp.js';

export interface KeyringEntry {
  readonly kid: string;
  readonly name: string;
  readonly publicKey: Uint8Array;
  /** RFC 3339 UTC; events with `at` before it are not covered. */
  readonly validFrom?: string;
  /** RFC 3339 UTC; events with `at` at or after it are not covered. */
  readonly validUntil?: string;
  /** Events with a smaller seq are not covered. */
  readonly validFromSeq?: number;
  /** Events with this seq or a larger one are not covered. */
  readonly retiredAtSeq?: number;
}

/** Where a signature sits in the ledger: the event's seq and `at`. */
export interface KeyUse {
  seq: number;
  at: string;
}

export const KEYRING_FILE_TYPE = 'sealed-ledger-keyring';
const FILE_FIELDS = ['type', 'v', 'keys'];
const ENTRY_FIELDS = ['kid', 'name', 'publicKey', 'validFrom', 'validUntil', 'validFromSeq', 'retiredAtSeq'];
const KEYRING_FILE_MAX_BYTES = 1024 * 1024;

function invalidKeyring(message: string, details: Record<string, unknown> = {}, cause?: unknown): never {
  throw new KeyError('INVALID_KEYRING', message, { details, cause });
}

function isSeq(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function checkUse(use: KeyUse): void {
  if (!isSeq(use?.seq)) throw new InvalidInputError('INVALID_ARGUMENT', 'seq must be a non-negative integer');
  if (utcSortKey(use.at) === undefined) {
    throw new InvalidInputError('INVALID_ARGUMENT', 'at must be an RFC 3339 UTC timestamp like 2026-01-02T03:04:05Z');
  }
}

/** Validates everything but the key bytes; `where` prefixes messages ("keys[2]"). */
function checkEntryFields(e: KeyringEntry, where: string): void {
  const bad = (field: string, reason: string): never => invalidKeyring(`${where}.${field} ${reason}`, { field });
  if (typeof e.kid !== 'string' || !/^[0-9a-f]{16}$/.test(e.kid)) bad('kid', 'must be 16 lowercase hex digits');
  const nameProblem = keyNameProblem(e.name);
  if (nameProblem !== undefined) bad('name', nameProblem);
  for (const f of ['validFrom', 'validUntil'] as const) {
    if (e[f] !== undefined && utcSortKey(e[f]) === undefined) bad(f, 'must be an RFC 3339 UTC timestamp like 2026-01-02T03:04:05Z');
  }
  for (const f of ['validFromSeq', 'retiredAtSeq'] as const) {
    if (e[f] !== undefined && !isSeq(e[f])) bad(f, 'must be a non-negative integer');
  }
  if (e.validFrom !== undefined && e.validUntil !== undefined && utcSortKey(e.validFrom)! >= utcSortKey(e.validUntil)!) {
    bad('validUntil', 'must be later than validFrom');
  }
  if (e.validFromSeq !== undefined && e.retiredAtSeq !== undefined && e.validFromSeq >= e.retiredAtSeq) {
    bad('retiredAtSeq', 'must be greater than validFromSeq');
  }
}

/** A frozen copy holding only the known fields, in file order. */
function normalized(e: KeyringEntry): KeyringEntry {
  return Object.freeze({
    kid: e.kid,
    name: e.name,
    publicKey: Uint8Array.from(e.publicKey),
    ...(e.validFrom === undefined ? {} : { validFrom: e.validFrom }),
    ...(e.validUntil === undefined ? {} : { validUntil: e.validUntil }),
    ...(e.validFromSeq === undefined ? {} : { validFromSeq: e.validFromSeq }),
    ...(e.retiredAtSeq === undefined ? {} : { retiredAtSeq: e.retiredAtSeq }),
  });
}

// Stored entries are frozen, but Uint8Array contents cannot be: hand out copies of the bytes.
function copyOut(e: KeyringEntry): KeyringEntry {
  return Object.freeze({ ...e, publicKey: Uint8Array.from(e.publicKey) });
}

function sameEntry(a: KeyringEntry, b: KeyringEntry): boolean {
  return (
    a.name === b.name && Buffer.from(a.publicKey).equals(b.publicKey) && a.validFrom === b.validFrom &&
    a.validUntil === b.validUntil && a.validFromSeq === b.validFromSeq && a.retiredAtSeq === b.retiredAtSeq
  );
}

function describeWindow(e: KeyringEntry): string {
  const parts: string[] = [];
  if (e.validFromSeq !== undefined) parts.push(`seq >= ${e.validFromSeq}`);
  if (e.retiredAtSeq !== undefined) parts.push(`seq < ${e.retiredAtSeq}`);
  if (e.validFrom !== undefined) parts.push(`at >= ${e.validFrom}`);
  if (e.validUntil !== undefined) parts.push(`at < ${e.validUntil}`);
  return parts.join(' and ');
}

export class Keyring {
  readonly #entries = new Map<string, KeyringEntry>();

  constructor(entries: Iterable<KeyringEntry> = []) {
    for (const e of entries) this.add(e);
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Adds a public key. Throws KeyError INVALID_KEY for a key failing spec §6.3, INVALID_KEYRING
   * for bad fields, a kid that is not keyIdFor(publicKey), or a kid already present with
   * different content. Adding an identical entry again is a no-op.
   */
  add(entry: KeyringEntry): KeyringEntry {
    return this.#add(entry, 'entry');
  }

  #add(entry: KeyringEntry, where: string): KeyringEntry {
    if (typeof entry !== 'object' || entry === null) invalidKeyring(`${where} must be an object`);
    checkEntryFields(entry, where);
    assertValidPublicKey(entry.publicKey);
    const expected = keyIdFor(entry.publicKey);
    if (entry.kid !== expected) {
      invalidKeyring(`${where}.kid ${entry.kid} does not match its public key (expected ${expected})`, { kid: entry.kid, expected });
    }
    const e = normalized(entry);
    const existing = this.#entries.get(e.kid);
    if (existing !== undefined) {
      if (sameEntry(existing, e)) return copyOut(existing);
      invalidKeyring(`key ${e.kid} is already in the keyring with different content`, { kid: e.kid });
    }
    this.#entries.set(e.kid, e);
    return copyOut(e);
  }

  get(kid: string): KeyringEntry | undefined {
    const e = this.#entries.get(kid);
    return e === undefined ? undefined : copyOut(e);
  }

  has(kid: string): boolean {
    return this.#entries.has(kid);
  }

  /** Entries in insertion (file) order. */
  list(): KeyringEntry[] {
    return [...this.#entries.values()].map(copyOut);
  }

  /**
   * Closes `kid`'s window at `seq` and `at` (spec §5.3): events with seq >= `seq` or
   * at >= `at` no longer verify under it. Retiring again with the same values is a no-op.
   */
  retire(kid: string, when: KeyUse): KeyringEntry {
    checkUse(when);
    const e = this.#entries.get(kid);
    if (e === undefined) throw new KeyError('UNKNOWN_KEY', `unknown key ${String(kid).slice(0, 64)}`, { details: { kid } });
    if (e.retiredAtSeq === when.seq && e.validUntil === when.at) return copyOut(e);
    if (e.retiredAtSeq !== undefined || e.validUntil !== undefined) {
      invalidKeyring(`key ${kid} is already retired (${describeWindow(e)})`, { kid });
    }
    const retired = normalized({ ...e, retiredAtSeq: when.seq, validUntil: when.at });
    checkEntryFields(retired, `key ${kid}`);
    this.#entries.set(kid, retired);
    return copyOut(retired);
  }

  /**
   * The entry to verify a signature by `kid` on an event at `use` (spec §5.3). Throws KeyError
   * UNKNOWN_KEY, or KEY_NOT_VALID with the key's window in the message.
   */
  keyFor(kid: string, use: KeyUse): KeyringEntry {
    return copyOut(this.#validEntry(kid, use));
  }

  /**
   * keyFor's check and public key without the defensive copies, for per-event loops (verify,
   * sign): the keyring's own array, so callers must not modify it.
   */
  publicKeyFor(kid: string, use: KeyUse): Uint8Array {
    return this.#validEntry(kid, use).publicKey;
  }

  #validEntry(kid: string, use: KeyUse): KeyringEntry {
    if (!isSeq(use?.seq)) throw new InvalidInputError('INVALID_ARGUMENT', 'seq must be a non-negative integer');
    const at = utcSortKey(use.at);
    if (at === undefined) {
      throw new InvalidInputError('INVALID_ARGUMENT', 'at must be an RFC 3339 UTC timestamp like 2026-01-02T03:04:05Z');
    }
    const e = this.#entries.get(kid);
    if (e === undefined) throw new KeyError('UNKNOWN_KEY', `unknown key ${String(kid).slice(0, 64)}`, { details: { kid } });
    const outside =
      (e.validFromSeq !== undefined && use.seq < e.validFromSeq) ||
      (e.retiredAtSeq !== undefined && use.seq >= e.retiredAtSeq) ||
      (e.validFrom !== undefined && at < utcSortKey(e.validFrom)!) ||
      (e.validUntil !== undefined && at >= utcSortKey(e.validUntil)!);
    if (outside) {
      throw new KeyError('KEY_NOT_VALID', `key ${kid} is not valid for seq ${use.seq} at ${use.at}; it is valid for ${describeWindow(e)}`, {
        details: { kid, seq: use.seq, at: use.at, window: describeWindow(e) },
      });
    }
    return e;
  }

  /** The keyring file object (spec §5.3); JSON.stringify(keyring) gives the file text. */
  toJSON(): { type: typeof KEYRING_FILE_TYPE; v: 1; keys: Record<string, string | number>[] } {
    return {
      type: KEYRING_FILE_TYPE,
      v: 1,
      keys: [...this.#entries.values()].map((e) => ({ ...e, publicKey: encodeBase64(e.publicKey) })),
    };
  }

  /** Parses a keyring file's text or object strictly. Anything malformed: KeyError INVALID_KEYRING. */
  static fromJSON(input: unknown): Keyring {
    let o = input;
    if (typeof input === 'string') {
      try {
        o = JSON.parse(input);
      } catch (e) {
        invalidKeyring('keyring is not valid JSON', {}, e);
      }
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) invalidKeyring('keyring must be a JSON object');
    const file = o as Record<string, unknown>;
    for (const k of Object.keys(file)) if (!FILE_FIELDS.includes(k)) invalidKeyring(`keyring has an unknown field "${k.slice(0, 40)}"`);
    if (file.type !== KEYRING_FILE_TYPE) invalidKeyring(`keyring type must be "${KEYRING_FILE_TYPE}"`);
    if (file.v !== 1) invalidKeyring('keyring v must be 1');
    if (!Array.isArray(file.keys)) invalidKeyring('keyring keys must be an array');
    const ring = new Keyring();
    file.keys.forEach((raw: unknown, i: number) => {
      const where = `keys[${i}]`;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) invalidKeyring(`${where} must be an object`, { index: i });
      const r = raw as Record<string, unknown>;
      for (const k of Object.keys(r)) if (!ENTRY_FIELDS.includes(k)) invalidKeyring(`${where} has an unknown field "${k.slice(0, 40)}"`, { index: i });
      const publicKey = typeof r.publicKey === 'string' ? decodeBase64Strict(r.publicKey) : undefined;
      if (publicKey === undefined) invalidKeyring(`${where}.publicKey must be canonical base64`, { index: i });
      if (typeof r.kid === 'string' && ring.has(r.kid)) invalidKeyring(`${where}: key ${r.kid} is listed twice`, { index: i });
      try {
        ring.#add({ ...r, publicKey } as unknown as KeyringEntry, where);
      } catch (e) {
        if (!(e instanceof KeyError)) throw e;
        // A bad key is INVALID_KEY when added by a caller, but here it is a malformed file.
        if (e.code !== 'INVALID_KEYRING') invalidKeyring(`${where}.publicKey: ${e.message}`, { index: i, ...e.details }, e);
        throw new KeyError('INVALID_KEYRING', e.message, { cause: e.cause, details: { index: i, ...e.details } });
      }
    });
    return ring;
  }

  /** Reads a keyring file. IO_ERROR if it cannot be read, INVALID_KEYRING if it is malformed. */
  static load(path: string): Keyring {
    let bytes: Buffer;
    try {
      const fd = openSync(path, 'r');
      try {
        const size = fstatSync(fd).size;
        if (size > KEYRING_FILE_MAX_BYTES) invalidKeyring(`keyring ${path} is larger than ${KEYRING_FILE_MAX_BYTES} bytes`, { path });
        bytes = Buffer.alloc(size);
        let read = 0;
        for (let n = -1; read < size && n !== 0; read += n) n = readSync(fd, bytes, read, size - read, read);
        bytes = bytes.subarray(0, read);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if (e instanceof SealedLedgerError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new SealedLedgerError('IO_ERROR', `cannot read keyring ${path}: ${code ?? String(e)}`, { cause: e, details: { path } });
    }
    try {
      return Keyring.fromJSON(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (e) {
      if (e instanceof KeyError) {
        throw new KeyError('INVALID_KEYRING', `keyring ${path}: ${e.message}`, { cause: e, details: { ...e.details, path } });
      }
      // TextDecoder's only failure: bytes that are not UTF-8.
      if (e instanceof TypeError) invalidKeyring(`keyring ${path} is not valid UTF-8`, { path }, e);
      throw e;
    }
  }

  /** Writes the keyring file atomically (temp file, fsync, rename, fsync directory). */
  save(path: string): void {
    try {
      writeFileDurably(path, JSON.stringify(this, null, 2) + '\n', { mode: 0o644, overwrite: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new SealedLedgerError('IO_ERROR', `cannot write keyring ${path}: ${code ?? String(e)}`, { cause: e, details: { path } });
    }
  }
}
