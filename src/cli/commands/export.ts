/**
 * `sealed-ledger export <dir>` (spec §15.1): events as JSONL on stdout, straight from the
 * canonical file. Streams in bounded memory at any ledger size and waits for a slow reader.
 * Each exported line is checked (canonical form and seal) before it is written.
 */
import { LedgerStateError, isSealedLedgerError } from '../../errors.js';
import { parseEventLine } from '../../format/event-line.js';
import { NODE_FILE_IO } from '../../store/file-io.js';
import { JsonlFile } from '../../store/jsonl-file.js';
import type { CliContext } from '../context.js';
import { startOffsetHint } from '../export-start.js';
import { requireLedger } from '../ledger-folder.js';
import { ChunkedWriter } from '../output.js';

export interface ExportOptions {
  from?: number;
  to?: number;
  kind?: string;
  actor?: string;
}

function corrupt(e: unknown, offset: number, dir: string): unknown {
  if (!isSealedLedgerError(e)) return e;
  return new LedgerStateError('LEDGER_CORRUPT', `events.jsonl at offset ${offset}: ${e.message}; export stopped (run: sealed-ledger verify ${dir})`, {
    cause: e,
    details: { offset, ...e.details },
  });
}

/** Writes matching lines from `start`; false when the start hint proved wrong (nothing written). */
async function exportFrom(ctx: CliContext, jsonl: JsonlFile, start: number, o: ExportOptions, dir: string): Promise<boolean> {
  const total = jsonl.size();
  const bar = ctx.progress('export', false);
  const w = new ChunkedWriter(ctx.out);
  let n = 0;
  try {
    for (const line of jsonl.lines(start, undefined, total)) {
      let ev;
      try {
        ev = parseEventLine(line.text, { offset: line.offset, ...(line.lineNo ? { lineNo: line.lineNo } : {}) }).event;
      } catch (e) {
        await w.flush(); // the lines before the bad one are good: deliver them
        throw corrupt(e, line.offset, dir);
      }
      if (n++ === 0 && start > 0 && ev.seq !== o.from) return false;
      if (n % 65536 === 0) bar.update(line.offset, total);
      if (o.to !== undefined && ev.seq > o.to) break;
      if (o.from !== undefined && ev.seq < o.from) continue;
      if ((o.kind !== undefined && ev.kind !== o.kind) || (o.actor !== undefined && ev.actor !== o.actor)) continue;
      if (!(await w.line(line.text))) return true; // the reader went away
    }
    await w.flush();
    return true;
  } finally {
    bar.stop();
  }
}

export async function exportEvents(ctx: CliContext, dir: string, o: ExportOptions): Promise<void> {
  const paths = requireLedger(dir);
  const jsonl = JsonlFile.open(paths.jsonl, NODE_FILE_IO, { readOnly: true });
  try {
    const hint = startOffsetHint(paths.sqlite, jsonl, o.from ?? 0);
    if (!(await exportFrom(ctx, jsonl, hint, o, dir))) await exportFrom(ctx, jsonl, 0, o, dir);
  } finally {
    jsonl.close();
  }
}
