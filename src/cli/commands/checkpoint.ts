/**
 * `sealed-ledger checkpoint <dir> --key <file>` (spec §12, §15.1): sign, store and print a C2SP
 * checkpoint of the current tree. The library refuses to sign one inconsistent with the last.
 */
import type { CliContext } from '../context.js';
import { requireLedger } from '../ledger-folder.js';
import { Ledger, parseCheckpoint, parseNote, readSigningKeyFile } from '../../index.js';

export async function checkpoint(ctx: CliContext, dir: string, o: { key: string; json?: boolean }): Promise<void> {
  requireLedger(dir);
  const key = readSigningKeyFile(o.key);
  const ledger = await Ledger.open({ dir, signer: key, lockTimeoutMs: ctx.lockTimeoutMs });
  for (const w of ledger.warnings) ctx.note(`warning: ${w}`);
  let note: string;
  try {
    note = await ledger.checkpoint(key);
  } finally {
    await ledger.close();
  }
  if (!o.json) {
    await ctx.out.write(note);
    return;
  }
  const body = parseCheckpoint(parseNote(note).text);
  await ctx.out.json({ origin: body.origin, size: body.size, rootHash: Buffer.from(body.rootHash).toString('hex'), note });
}
