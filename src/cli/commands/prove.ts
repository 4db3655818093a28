/**
 * `sealed-ledger prove inclusion|consistency` (spec §11.3, §15.1): RFC 6962/9162 proofs from
 * O(log n) stored tree nodes, as hex, for verifyInclusion / verifyConsistency or any RFC 6962
 * verifier.
 */
import type { CliContext } from '../context.js';
import { requireLedger } from '../ledger-folder.js';
import { Ledger } from '../../index.js';

async function withLedger<T>(ctx: CliContext, dir: string, f: (l: Ledger) => T): Promise<T> {
  requireLedger(dir);
  // Read-only: proofs come from the projection as it is, so they work on a read-only copy too.
  const ledger = await Ledger.open({ dir, readOnly: true });
  try {
    return f(ledger);
  } finally {
    await ledger.close();
  }
}

function proofLines(fields: [string, string | number][], proof: string[]): string[] {
  const lines = fields.map(([k, v]) => `${k.padEnd(10)} ${v}`);
  if (proof.length === 0) lines.push(`${'proof'.padEnd(10)} (empty)`);
  proof.forEach((h, i) => lines.push(`${(i === 0 ? 'proof' : '').padEnd(10)} ${h}`));
  return lines;
}

export async function proveInclusion(ctx: CliContext, dir: string, o: { seq: number; size?: number; json?: boolean }): Promise<void> {
  const p = await withLedger(ctx, dir, (l) => l.proveInclusion(o.seq, o.size));
  if (o.json) return ctx.out.json(p);
  const fields: [string, string | number][] = [['index', p.index], ['tree size', p.treeSize], ['leaf hash', p.leafHash], ['root hash', p.rootHash]];
  await ctx.out.write(proofLines(fields, p.proof).join('\n') + '\n');
}

export async function proveConsistency(ctx: CliContext, dir: string, o: { from: number; to?: number; json?: boolean }): Promise<void> {
  const p = await withLedger(ctx, dir, (l) => l.proveConsistency(o.from, o.to));
  if (o.json) return ctx.out.json(p);
  const fields: [string, string | number][] = [['from size', p.fromSize], ['to size', p.toSize], ['from root', p.fromRoot], ['to root', p.toRoot]];
  await ctx.out.write(proofLines(fields, p.proof).join('\n') + '\n');
}
