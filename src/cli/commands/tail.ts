/**
 * `sealed-ledger tail <dir> [-n N] [--follow]` (spec §15.1): the last N complete lines of
 * events.jsonl; with --follow, new complete lines as they are appended, by polling the file
 * size (portable, and cheap at one fstat per interval). Stops cleanly on SIGINT or SIGTERM.
 */
import fs from 'node:fs';
import { LedgerStateError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { completeEnd, lastLines } from '../jsonl-tail.js';
import { requireLedger } from '../ledger-folder.js';

export interface TailOptions {
  lines: number;
  follow?: boolean;
  interval: number;
}

async function follow(ctx: CliContext, fd: number, from: number, intervalMs: number): Promise<void> {
  let position = from;
  let stopping = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopping = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    while (!stopping && !ctx.out.closed) {
      const size = fs.fstatSync(fd).size;
      if (size < position) {
        throw new LedgerStateError('LEDGER_CORRUPT', `events.jsonl shrank to ${size} bytes, below the ${position} bytes already printed: acknowledged events were removed`, {
          details: { size, position },
        });
      }
      if (size > position) {
        const end = completeEnd(fd, size);
        if (end > position) {
          const buf = Buffer.allocUnsafe(end - position);
          fs.readSync(fd, buf, 0, buf.length, position);
          await ctx.out.write(buf.toString('utf8'));
          position = end;
        }
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export async function tail(ctx: CliContext, dir: string, o: TailOptions): Promise<void> {
  const paths = requireLedger(dir);
  const fd = fs.openSync(paths.jsonl, 'r');
  try {
    const end = completeEnd(fd, fs.fstatSync(fd).size);
    const { lines } = lastLines(fd, end, o.lines);
    if (lines.length > 0) await ctx.out.write(Buffer.concat(lines).toString('utf8'));
    if (o.follow) await follow(ctx, fd, end, o.interval);
  } finally {
    fs.closeSync(fd);
  }
}
