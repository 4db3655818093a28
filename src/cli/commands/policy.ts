/**
 * `sealed-ledger policy <dir> [--require-signatures]` (spec §7.1, §15.1): show the signing
 * policy and limits ledger.json records, or opt an existing ledger into required signatures
 * from its next seq on.
 */
import { readOrCreateMetadata } from '../../ledger/metadata.js';
import { NODE_FILE_IO } from '../../store/file-io.js';
import type { CliContext } from '../context.js';
import { requireLedger } from '../ledger-folder.js';
import { DEFAULT_LIMITS, Ledger } from '../../index.js';

export async function policy(ctx: CliContext, dir: string, o: { requireSignatures?: boolean; json?: boolean }): Promise<void> {
  const paths = requireLedger(dir);
  let changed = false;
  if (o.requireSignatures) {
    const ledger = await Ledger.open({ dir, lockTimeoutMs: ctx.lockTimeoutMs });
    try {
      for (const w of ledger.warnings) ctx.note(`warning: ${w}`);
      changed = readOrCreateMetadata(paths.metadata, undefined, NODE_FILE_IO, true).signaturesRequiredFrom === undefined;
      await ledger.requireSignaturesFromNow();
    } finally {
      await ledger.close();
    }
  }
  const meta = readOrCreateMetadata(paths.metadata, undefined, NODE_FILE_IO, true);
  const from = meta.signaturesRequiredFrom ?? null;
  const maxPayloadBytes = meta.maxPayloadBytes ?? DEFAULT_LIMITS.maxPayloadBytes;
  if (o.json) {
    await ctx.out.json({ signaturesRequiredFrom: from, maxPayloadBytes, changed });
    return;
  }
  await ctx.out.say(`${'signatures'.padEnd(12)} ${from === null ? 'optional' : `required from seq ${from}`}${changed ? ' (recorded now)' : ''}`);
  await ctx.out.say(`${'payload max'.padEnd(12)} ${maxPayloadBytes} bytes`);
}
