/**
 * `sealed-ledger verify <dir>` (spec §14.6, §15.1): the parity verification job for cron and
 * CI. Changes nothing. Exit 0 only when everything holds; 1 for drift reconcile heals; 2 for
 * tampering or corruption (spec §15.3).
 */
import { verifyLedger, type VerifyReport } from '../../ledger/verify-ledger.js';
import type { CliContext } from '../context.js';
import { requireLedger } from '../ledger-folder.js';
import { verifyReportText } from '../report-text.js';
import { exitCodeOfVerdict, verdictLine, verdictOf } from '../verdict.js';

interface VerifyFlags {
  json?: boolean;
  requireSignatures?: boolean;
  workers?: number;
}

export async function runVerify(ctx: CliContext, dir: string, o: VerifyFlags): Promise<VerifyReport> {
  requireLedger(dir);
  const bar = ctx.progress('verify', o.json);
  try {
    return await verifyLedger({ dir }, {
      requireSignatures: o.requireSignatures === true,
      onProgress: (a, b) => bar.update(a, b),
      ...(o.workers === undefined ? {} : { workers: o.workers }),
    });
  } finally {
    bar.stop();
  }
}

export async function verify(ctx: CliContext, dir: string, o: VerifyFlags): Promise<void> {
  const report = await runVerify(ctx, dir, o);
  if (o.json) await ctx.out.json(report);
  else for (const line of verifyReportText(report, dir)) await ctx.out.say(line);
  const line = verdictLine(report, dir);
  if (line) ctx.complain(line);
  ctx.exitCode = exitCodeOfVerdict(verdictOf(report));
}
