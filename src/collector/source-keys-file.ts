/**
 * Reading a source's keys for `collector sources add|add-key --keys <path>` (spec §18.2). The
 * path may be a host's ledger folder (keyring.json, and ledger.json's checkpoint origin), a
 * keyring file (spec §5.3), or a text file of C2SP verifier keys, one a line, as
 * `sealed-ledger verifier-key` prints them. The ledger signs events and checkpoints with the
 * same keys, so each key is registered for both; keyring windows are kept for events.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Keyring, type KeyringEntry } from '../crypto/keyring.js';
import { keyNameProblem } from '../crypto/key-name.js';
import { keyIdFor } from '../crypto/domain.js';
import { SealedLedgerError } from '../errors.js';
import { KEYRING_FILE, METADATA_FILE } from '../store/layout.js';
import { parseVerifierKey, verifierKeyString } from '../merkle/verifier-key.js';
import type { SourceKeys } from './sources.js';

export interface KeysFromFile extends SourceKeys {
  /** The checkpoint origin, when the path is a ledger folder. */
  origin?: string;
}

function read(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new SealedLedgerError('IO_ERROR', `cannot read ${p}: ${code}`, { cause: e, details: { path: p } });
  }
}

function fromKeyring(ring: Keyring): SourceKeys {
  const eventKeys = ring.list();
  const checkpointKeys = eventKeys.filter((e) => e.retiredAtSeq === undefined && e.validUntil === undefined).map((e) => verifierKeyString(e.name, e.publicKey));
  return { eventKeys, checkpointKeys };
}

export function readSourceKeys(target: string): KeysFromFile {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (e) {
    throw new SealedLedgerError('IO_ERROR', `cannot read ${target}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e, details: { path: target } });
  }
  if (stat.isDirectory()) {
    const keys = fromKeyring(Keyring.load(path.join(target, KEYRING_FILE)));
    const metaPath = path.join(target, METADATA_FILE);
    const origin = fs.existsSync(metaPath) ? (JSON.parse(read(metaPath)) as { origin?: unknown }).origin : undefined;
    return { ...keys, ...(typeof origin === 'string' ? { origin } : {}) };
  }
  const text = read(target);
  if (text.trimStart().startsWith('{')) return fromKeyring(Keyring.fromJSON(text));
  const eventKeys: KeyringEntry[] = [];
  const checkpointKeys: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const v = parseVerifierKey(line);
    const kid = keyIdFor(v.publicKey);
    eventKeys.push({ kid, name: keyNameProblem(v.name) === undefined ? v.name : `key-${kid}`, publicKey: v.publicKey });
    checkpointKeys.push(line);
  }
  return { eventKeys, checkpointKeys };
}
