/**
 * `sealed-ledger keygen --out <file>` (spec §5.2, §15.1): a new Ed25519 signing key file,
 * mode 0600, never overwriting an existing file.
 */
import path from 'node:path';
import type { CliContext } from '../context.js';
import { describeKey, keyLines } from '../key-output.js';
import { assertKeyOutsideAnyLedger } from '../ledger-folder.js';
import { generateSigningKey, writeSigningKeyFile } from '../../index.js';

export interface KeygenOptions {
  out: string;
  name?: string;
  json?: boolean;
}

export async function keygen(ctx: CliContext, o: KeygenOptions): Promise<void> {
  // Spec §7.1: a private key never lives in a ledger folder (a copy of the folder would carry it).
  assertKeyOutsideAnyLedger(o.out);
  const key = generateSigningKey(o.name === undefined ? {} : { name: o.name });
  writeSigningKeyFile(key, o.out);
  const d = { ...describeKey(key), file: path.resolve(o.out) };
  if (o.json) return ctx.out.json(d);
  // The key is the product of this command: printed even under --quiet.
  const lines = [...keyLines(d), `key file     ${d.file} (mode 0600)`];
  await ctx.out.write(lines.join('\n') + '\n');
}
