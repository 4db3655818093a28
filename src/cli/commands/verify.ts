/**
 * `sealed-ledger verify <dir>` (spec §14.6, §15.1): the parity verification job for cron and
 * CI. Changes nothing. Exit 0 only when everything holds; 1 for drift reconcile heals; 2 for
 * tampering or corruption (spec §15.3).
 */
import fs from 'node:fs';
import { Agent, request } from 'undici';
import { InvalidInputError, LedgerStateError, SealedLedgerError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { requireLedger } from '../ledger-folder.js';
import { witnessVerifierKeys } from './witness-keys.js';
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
  witnessKey?: string[];
  witnessUrl?: string;
  source?: string;
  ca?: string;
}

/**
 * --witness-url <collector> --source <name>: the collector's latest cosigned checkpoint of the
 * source (spec §19.6). Without it a verifier trusts witness.jsonl to be complete; with it,
 * deleting or rolling back records in the folder hides nothing the witness cosigned.
 */
async function fetchWitnessed(o: VerifyFlags): Promise<string[]> {
  if (o.witnessUrl === undefined) {
    if (o.source !== undefined) throw new InvalidInputError('INVALID_ARGUMENT', '--source needs --witness-url');
    if (o.ca !== undefined) throw new InvalidInputError('INVALID_ARGUMENT', '--ca needs --witness-url');
    return [];
  }
  if (!o.source) throw new InvalidInputError('INVALID_ARGUMENT', '--witness-url needs --source');
  if (!o.witnessKey?.length) throw new InvalidInputError('INVALID_ARGUMENT', '--witness-url needs --witness-key: a cosigned checkpoint is only as good as the key it is checked with');
  // The CA as `ship --ca` takes it: the collector's certificate chains to it.
  let ca: Buffer | undefined;
  if (o.ca !== undefined) {
    try {
      ca = fs.readFileSync(o.ca);
    } catch (e) {
      const errno = (e as NodeJS.ErrnoException).code ?? 'EIO';
      throw new InvalidInputError('INVALID_ARGUMENT', `${o.ca}: cannot read the CA file: ${errno}`, { details: { path: o.ca, errno } });
    }
  }
  const url = `${o.witnessUrl.replace(/\/+$/, '')}/v1/sources/${encodeURIComponent(o.source)}/checkpoint`;
  const agent = new Agent({ connect: { timeout: 30_000, ...(ca ? { ca } : {}) }, headersTimeout: 30_000, bodyTimeout: 30_000 });
  try {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, { dispatcher: agent, signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      const errno = (e as { code?: string }).code;
      throw new SealedLedgerError('UNAVAILABLE', `cannot fetch the witnessed checkpoint from ${url}: ${errno ? `${errno}: ` : ''}${(e as Error).message}`, { details: { url, ...(errno ? { errno } : {}) } });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > 64 * 1024) throw new SealedLedgerError('UNAVAILABLE', `${url} answered more than 64 KiB`, { details: { url } });
      chunks.push(chunk);
    }
    if (res.statusCode === 404) return [];
    if (res.statusCode !== 200) throw new SealedLedgerError('UNAVAILABLE', `fetching the witnessed checkpoint from ${url}: HTTP ${res.statusCode}`, { details: { url, status: res.statusCode } });
    return [Buffer.concat(chunks).toString('utf8')];
  } finally {
    await agent.destroy();
  }
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
  const witness = witnessVerifierKeys(o.witnessKey ?? []);
  const witnessed = await fetchWitnessed(o);
  const bar = ctx.progress('verify', o.json);
  try {
    return await verifyLedger({ dir }, {
      ...(trustedKeys ? { trustedKeys } : {}),
      ...(external.length > 0 ? { externalCheckpoints: external } : {}),
      ...(witness.length > 0 ? { witnessKeys: witness } : {}),
      ...(witnessed.length > 0 ? { witnessedCheckpoints: witnessed } : {}),
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
