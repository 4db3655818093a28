import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SealedLedgerError } from '../src/errors.js';

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'sealed-ledger-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** The stable error code a call throws, undefined when it returns; foreign errors are named. */
export function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof SealedLedgerError ? e.code : `foreign: ${String(e)}`;
  }
  return undefined;
}

/** Like codeOf, for promises. */
export async function codeOfAsync(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return e instanceof SealedLedgerError ? e.code : `foreign: ${String(e)}`;
  }
  return undefined;
}
