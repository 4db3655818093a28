/**
 * Keys obtained out of band for verifyLedger (spec §17.2). The folder's own keyring.json is
 * written by whoever can write the folder, so it can vouch only against accidents; verification
 * against the host takes the keys from elsewhere: a keyring file kept off the host, or C2SP
 * verifier keys (`<name>+<id>+<base64>`, spec §12.3) as published for checkpoints.
 */
import fs from 'node:fs';
import { keyNameProblem } from '../crypto/key-name.js';
import { Keyring } from '../crypto/keyring.js';
import { keyIdFor } from '../crypto/domain.js';
import { InvalidInputError, KeyError, LedgerStateError, SealedLedgerError } from '../errors.js';
import { parseVerifierKey, verifierKeyString } from '../merkle/verifier-key.js';

export interface TrustedKeys {
  /** Event signatures are checked against this keyring only (windows included, when it has them). */
  keyring: Keyring;
  /** Checkpoint notes are checked against these verifier keys only. */
  verifierKeys: string[];
}

/** From a keyring: every key, with its validity window, signs events and checkpoints. */
export function trustedKeysFromKeyring(keyring: Keyring): TrustedKeys {
  return { keyring, verifierKeys: keyring.list().map((k) => verifierKeyString(k.name, k.publicKey)) };
}

/**
 * From C2SP verifier keys: each is trusted for events (its kid is derived from the public key, no
 * window) and for checkpoints. Throws INVALID_KEY naming the bad one.
 */
export function trustedKeysFromVerifierKeys(keys: readonly string[]): TrustedKeys {
  const keyring = new Keyring();
  const verifierKeys: string[] = [];
  keys.forEach((text, i) => {
    let v;
    try {
      v = parseVerifierKey(text);
    } catch (e) {
      if (!(e instanceof SealedLedgerError)) throw e;
      throw new KeyError('INVALID_KEY', `trusted key ${i + 1}: ${e.message}`, { cause: e, details: { index: i, ...e.details } });
    }
    const kid = keyIdFor(v.publicKey);
    // The same public key under two names is one event key: the first name is kept.
    if (!keyring.has(kid)) keyring.add({ kid, name: keyringName(v.name, kid), publicKey: v.publicKey });
    verifierKeys.push(text);
  });
  if (verifierKeys.length === 0) throw new InvalidInputError('INVALID_ARGUMENT', 'the trusted key list is empty');
  return { keyring, verifierKeys };
}

/** Note key names may be wider than keyring names (spec §5.4); the keyring entry only needs one. */
function keyringName(name: string, kid: string): string {
  return keyNameProblem(name) === undefined ? name : `key-${kid}`;
}

/**
 * A trusted-keys file: a keyring file (JSON, spec §5.3) or one verifier key per line (blank lines
 * and lines starting with `#` ignored). INVALID_KEYRING / INVALID_KEY when malformed, IO_ERROR
 * when unreadable.
 */
export function loadTrustedKeys(path: string): TrustedKeys {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LedgerStateError('IO_ERROR', `trusted keys file ${path} does not exist (ENOENT)`, { cause: e, details: { path, errno: code } });
    throw new LedgerStateError('IO_ERROR', `cannot read trusted keys file ${path}: ${code ?? String(e)}`, { cause: e, details: { path, errno: code } });
  }
  if (text.trimStart().startsWith('{')) return trustedKeysFromKeyring(Keyring.load(path));
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return trustedKeysFromVerifierKeys(lines);
}
