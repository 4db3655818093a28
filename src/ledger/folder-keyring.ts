/**
 * The keyring.json inside a ledger folder (spec §5.3, §7.1). It is part of the folder, not the
 * caller's input: a malformed one is damage to the ledger (LEDGER_CORRUPT, exit 2), where the
 * same bytes given on the command line would be bad input (INVALID_KEYRING).
 */
import fs from 'node:fs';
import { Keyring } from '../crypto/keyring.js';
import { LedgerStateError } from '../errors.js';

export function loadFolderKeyring(path: string): Keyring | undefined {
  if (!fs.existsSync(path)) return undefined;
  try {
    return Keyring.load(path);
  } catch (e) {
    if ((e as { code?: string }).code !== 'INVALID_KEYRING') throw e;
    throw new LedgerStateError('LEDGER_CORRUPT', `the ledger's own ${(e as Error).message}; restore keyring.json from a backup, or verify with --trusted-keys`, {
      cause: e,
      details: { path, ...(e as { details?: Record<string, unknown> }).details },
    });
  }
}
