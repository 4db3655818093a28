/**
 * `sealed-ledger verify <dir>` (spec §14.6, §15.1): the parity verification job for cron and
 * CI. Changes nothing. Exit 0 only when everything holds; 1 for drift reconcile heals; 2 for
 * tampering or corruption (spec §15.3).
 */
import fs from 'node:fs';
import { InvalidInputError, LedgerStateError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { requireLedger } from '../ledger-folder.js';
import { verifyReportText } from '../report-text.js';
import { exitCodeOfVerdict, verdictLine, verdictOf } from '../verdict.js';
import { type ExternalCheckpoint, loadTrustedKeys, type TrustedKeys, verifyLedger, type VerifyReport } from '../../index.js';

export interface VerifyFlags {
  json?: boolean;
  requireSignatures?: boolean;
  workers?: number;
  trustedKeys?: string;
  checkpoint?: string[];
  verifierKey?: string[];
}

/** --checkpoint files read as notes; each is checked with --verifier-key or the trusted keys. */
function externalCheckpoints(o: VerifyFlags, trusted: TrustedKeys | undefined): ExternalCheckpoint[] {
  const files = o.checkpoint ?? [];
  const keys = o.verifierKey ?? [];
  if (keys.length > 0 && files.length === 0) throw new InvalidInputError('INVALID_ARGUMENT', '--verifier-key needs --checkpoint');
  if (files.length > 0 && keys.length === 0 && !trusted) {
    throw new InvalidInputError('INVALID_ARGUMENT', '--checkpoint needs --verifier-key or --trusted-keys: a checkpoint is only as good as the key it is checked with');
  }
  return files.map((file) => ({ note: readNoteFile(file), ...(keys.length > 0 ? { verifierKeys: keys } : {}) }));
}

function readNoteFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    throw new LedgerStateError('IO_ERROR', `cannot read checkpoint ${file}: ${errno ?? String(e)}`, { cause: e, details: { path: file, errno } });
  }
}

export async function runVerify(ctx: CliContext, dir: string, o: VerifyFlags): Promise<VerifyReport> {
  requireLedger(dir);
  const trustedKeys = o.trustedKeys === undefined ? undefined : loadTrustedKeys(o.trustedKeys);
  const external = externalCheckpoints(o, trustedKeys);
  const bar = ctx.progress('verify', o.json);
  try {
    return await verifyLedger({ dir }, {
      ...(trustedKeys ? { trustedKeys } : {}),
      ...(external.length > 0 ? { externalCheckpoints: external } : {}),
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
