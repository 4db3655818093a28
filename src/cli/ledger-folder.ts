/**
 * Read-only checks on a ledger folder before a command touches it (spec §7.1, §15.1): a missing
 * folder and a folder that is not a ledger are told apart, and a signing key is never written
 * inside the folder it signs for (a copy of the folder must not carry its private key).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError, LedgerStateError } from '../errors.js';
import { type LedgerPaths, ledgerPaths } from '../store/layout.js';
import { existsOrThrow } from '../store/os-error.js';

/** The folder's paths; LEDGER_NOT_FOUND unless it holds events.jsonl. */
export function requireLedger(dir: string): LedgerPaths {
  const paths = ledgerPaths(dir);
  // existsOrThrow: a folder this user cannot read is IO_ERROR (EACCES), not "not a ledger".
  if (existsOrThrow(paths.jsonl)) return paths;
  let why: string;
  if (!existsOrThrow(paths.dir)) why = `${paths.dir} does not exist`;
  else if (!fs.statSync(paths.dir).isDirectory()) why = `${paths.dir} is not a folder`;
  else why = `${paths.dir} is not a ledger folder (no events.jsonl); create one with: sealed-ledger init ${dir}`;
  throw new LedgerStateError('LEDGER_NOT_FOUND', why, { details: { dir: paths.dir } });
}

export function isLedger(dir: string): boolean {
  return fs.existsSync(ledgerPaths(dir).jsonl);
}

/** `p` with symlinks resolved as far as it exists, so a link cannot smuggle a path inside. */
function realish(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  const rest: string[] = [];
  while (!fs.existsSync(head)) {
    const parent = path.dirname(head);
    if (parent === head) break;
    rest.unshift(path.basename(head));
    head = parent;
  }
  return path.join(fs.realpathSync(head), ...rest);
}

export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(realish(parent), realish(child));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** INVALID_ARGUMENT when `keyPath` lies inside the ledger folder `dir`. */
export function assertKeyOutsideLedger(keyPath: string, dir: string): void {
  if (isInside(keyPath, dir)) {
    throw new InvalidInputError(
      'INVALID_ARGUMENT',
      `refusing to write the signing key ${keyPath} inside the ledger folder ${dir}: keep private keys apart from the data they sign`,
      { details: { keyPath, dir } },
    );
  }
}

/** INVALID_ARGUMENT when `keyPath` lies inside any ledger folder (one holding events.jsonl). */
export function assertKeyOutsideAnyLedger(keyPath: string): void {
  for (let dir = path.dirname(realish(keyPath)); ; dir = path.dirname(dir)) {
    if (isLedger(dir)) assertKeyOutsideLedger(keyPath, dir);
    if (path.dirname(dir) === dir) return;
  }
}
