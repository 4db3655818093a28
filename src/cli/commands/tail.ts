/**
 * `sealed-ledger tail <dir> [-n N] [--follow]` (spec §15.1): the last N complete lines of
 * events.jsonl; with --follow, then every later event as follow() delivers it (spec §21): only
 * durable, verified events, each line exactly as written, woken by file notifications with
 * `--interval` as the fallback poll. Stops cleanly on SIGINT or SIGTERM.
 */
import fs from 'node:fs';
import { durableHead, followRecords } from '../../feed/index.js';
import type { CliContext } from '../context.js';
import { completeEnd, lastLines } from '../jsonl-tail.js';
import { requireLedger } from '../ledger-folder.js';
import { parseEventLine } from '../../index.js';

export interface TailOptions {
  lines: number;
  follow?: boolean;
  interval: number;
}

async function follow(ctx: CliContext, dir: string, fromSeq: number, intervalMs: number): Promise<void> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for await (const r of followRecords({ dir, fromSeq, signal: ac.signal, pollIntervalMs: intervalMs })) {
      await ctx.out.write(r.line + '\n');
      if (ctx.out.closed) break;
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export async function tail(ctx: CliContext, dir: string, o: TailOptions): Promise<void> {
  const paths = requireLedger(dir);
  const fd = fs.openSync(paths.jsonl, 'r');
  let fromSeq = 0;
  try {
    const end = completeEnd(fd, fs.fstatSync(fd).size);
    const { lines } = lastLines(fd, end, o.lines);
    if (lines.length > 0) await ctx.out.write(Buffer.concat(lines).toString('utf8'));
    const last = lines.at(-1);
    // Follow on after the last line printed; with -n 0, after the last durable event.
    if (o.follow && last) fromSeq = parseEventLine(last.toString('utf8', 0, last.length - 1), { offset: end - last.length }).event.seq + 1;
  } finally {
    fs.closeSync(fd);
  }
  if (o.follow && o.lines === 0) fromSeq = (await durableHead(paths.dir)) + 1;
  if (o.follow) await follow(ctx, paths.dir, fromSeq, o.interval);
}
