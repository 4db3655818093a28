/**
 * `sealed-ledger ship <dir> --to <url> --source <name> --token-file <file> [--ca <pem>]`
 * (spec §20.8): the sidecar shipper. It runs in the foreground until SIGTERM or SIGINT (no
 * daemonizing: systemd, a container runtime or a supervisor keeps it), then drains for at most
 * --drain-ms and exits 0. `--status` reads what a running shipper recorded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readSigningKeyFile } from '../../crypto/signing-key.js';
import { InvalidInputError } from '../../errors.js';
import { defaultCursorFile, readCursorFile } from '../../ship/cursor-file.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { requireLedger } from '../ledger-folder.js';
import { witnessVerifierKeys } from './witness-keys.js';
import { startShipper } from '../../index.js';

export interface ShipCliOptions {
  to?: string;
  source?: string;
  tokenFile?: string;
  ca?: string;
  status?: boolean;
  statusFile?: string;
  batchLines: number;
  batchBytes: number;
  backoffMin: number;
  backoffMax: number;
  haltedRetry: number;
  poll: number;
  drainMs: number;
  checkpointKey?: string;
  witnessKey?: string[];
  checkpointEvery: number;
  checkpointInterval: number;
  json?: boolean;
}

/** `ship --status` exit statuses (spec §20.8). */
export const SHIP_STATUS_EXIT = { running: 0, 'backing-off': 1, halted: 2, stopped: 3 } as const;

export async function shipCommand(ctx: CliContext, dir: string, o: ShipCliOptions): Promise<void> {
  const paths = requireLedger(dir);
  if (o.status) return printStatus(ctx, paths.dir, o);
  for (const [flag, v] of [['--to', o.to], ['--source', o.source], ['--token-file', o.tokenFile]] as const) {
    if (!v) throw new InvalidInputError('INVALID_ARGUMENT', `ship needs ${flag}`);
  }
  let ca: Buffer | undefined;
  if (o.ca) {
    try {
      ca = fs.readFileSync(o.ca);
    } catch (e) {
      const errno = (e as NodeJS.ErrnoException).code ?? 'EIO';
      throw new InvalidInputError('INVALID_ARGUMENT', `${o.ca}: cannot read the CA file: ${errno}`, { details: { path: o.ca, errno } });
    }
  }
  // A key file that cannot be read is a bad option (exit 64 or 65), found before anything runs.
  const checkpointKey = o.checkpointKey === undefined ? undefined : readSigningKeyFile(o.checkpointKey);
  const witnessKeys = witnessVerifierKeys(o.witnessKey ?? []);
  if (witnessKeys.length > 0 && !checkpointKey) throw new InvalidInputError('INVALID_ARGUMENT', '--witness-key needs --checkpoint-key: without checkpoints nothing is cosigned');
  // Signals first: a SIGTERM that arrives while the shipper starts must still drain and exit 0.
  let signalled: ((signal: string) => void) | undefined;
  let early: string | undefined;
  const onTerm = () => (signalled ? signalled('SIGTERM') : (early ??= 'SIGTERM'));
  const onInt = () => (signalled ? signalled('SIGINT') : (early ??= 'SIGINT'));
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  // The shipper's own timers and watchers do not hold the event loop (a library must not keep its
  // host alive); the sidecar lives until a signal.
  const alive = setInterval(() => undefined, 1 << 30);
  try {
    const shipper = startShipper({
      dir: paths.dir,
      url: o.to!,
      source: o.source!,
      tokenFile: o.tokenFile!,
      ca,
      maxBatchLines: o.batchLines,
      maxBatchBytes: o.batchBytes,
      backoff: { minMs: o.backoffMin, maxMs: o.backoffMax },
      haltedRetryMs: o.haltedRetry,
      pollMs: o.poll,
      drainMs: o.drainMs,
      ...(checkpointKey ? { checkpointKey, checkpointEveryEvents: o.checkpointEvery, checkpointEveryMs: o.checkpointInterval } : {}),
      ...(witnessKeys.length > 0 ? { witnessKeys } : {}),
      cursorFile: o.statusFile ?? defaultCursorFile(paths.dir, o.source!),
      // One JSON line per record on stdout: journald and log shippers take it as it is.
      log: (record) => process.stdout.write(JSON.stringify(record) + '\n'),
    });
    await new Promise<void>((resolve) => {
      signalled = (signal: string) => {
        signalled = () => undefined;
        process.stdout.write(JSON.stringify({ level: 'info', msg: 'draining', signal, drainMs: o.drainMs, time: new Date().toISOString() }) + '\n');
        void shipper.stop({ drainMs: o.drainMs }).then(resolve, resolve);
      };
      if (early) signalled(early);
    });
  } finally {
    clearInterval(alive);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
  ctx.exitCode = EXIT.OK;
}

async function printStatus(ctx: CliContext, dir: string, o: ShipCliOptions): Promise<void> {
  const files = o.statusFile
    ? [o.statusFile]
    : o.source
      ? [defaultCursorFile(dir, o.source)]
      : fs.readdirSync(dir).filter((f) => /^ship-.+\.status\.json$/.test(f)).map((f) => path.join(dir, f));
  if (files.length === 0) {
    ctx.complain(`LEDGER_NOT_FOUND: no shipper status in ${dir} (start one with: sealed-ledger ship ${dir} --to … --source … --token-file …)`);
    ctx.exitCode = EXIT.NOINPUT;
    return;
  }
  let worst = 0;
  const records = files.map((f) => {
    const r = readCursorFile(f);
    const alive = !r.stopped && pidAlive(r.pid);
    const state = alive ? r.state : 'stopped';
    worst = Math.max(worst, SHIP_STATUS_EXIT[state]);
    return { ...r, state, recordedState: r.state };
  });
  if (o.json) await ctx.out.json(records.length === 1 ? records[0] : records);
  else {
    for (const r of records) {
      const err = r.lastError ? `; last error ${r.lastError.code}${r.lastError.seq !== undefined ? ` at seq ${r.lastError.seq}` : ''}: ${r.lastError.message}` : '';
      // Status files written before witnessing existed have no `witness` field.
      const w = r.witness;
      const wit = w ? `; witness ${w.state}, witnessed up to size ${w.witnessedSize}${w.lastError ? ` (${w.lastError.code}: ${w.lastError.message})` : ''}` : '';
      await ctx.out.write(
        `${r.source} -> ${r.url}: ${r.state}; shipped through ${r.shippedThrough ?? 'unknown'} of ${r.head}; lag ${r.lagEvents} events, ${r.lagSeconds.toFixed(1)} s (as of ${r.updatedAt})${err}${wit}\n`,
      );
    }
  }
  ctx.exitCode = worst;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
