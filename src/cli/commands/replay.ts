/**
 * `sealed-ledger replay <dir> [--rebuild]` (spec §14.3, §15.1): disaster recovery. Catches
 * ledger.db up from events.jsonl; --rebuild first moves the old ledger.db (and its WAL files)
 * aside under a timestamped name and builds a fresh one. Nothing is deleted.
 */
import fs from 'node:fs';
import { replayJsonlIntoSqlite, type ReplayReport } from '../../ledger/replay.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { requireLedger } from '../ledger-folder.js';
import { replayReportText } from '../report-text.js';

/** Renames ledger.db, -wal and -shm to ledger.db.bak-<time>[-wal|-shm]; returns the new db path. */
export function moveDatabaseAside(sqlitePath: string, now = new Date()): { from: string; to: string }[] {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  let base = `${sqlitePath}.bak-${stamp}`;
  for (let n = 1; fs.existsSync(base); n++) base = `${sqlitePath}.bak-${stamp}-${n}`;
  const moved: { from: string; to: string }[] = [];
  // The main file first: once it is gone, no new connection will open the old WAL with it.
  for (const suffix of ['', '-wal', '-shm']) {
    const from = sqlitePath + suffix;
    if (!fs.existsSync(from)) continue;
    fs.renameSync(from, base + suffix);
    moved.push({ from, to: base + suffix });
  }
  return moved;
}

function replayExitCode(r: ReplayReport): number {
  if (!r.tornTail) return EXIT.OK;
  return r.tornTail.code === 'TORN_LINE' ? EXIT.DRIFT : EXIT.TAMPERED;
}

export async function replay(ctx: CliContext, dir: string, o: { rebuild?: boolean; json?: boolean }): Promise<void> {
  const paths = requireLedger(dir);
  const moved = o.rebuild ? moveDatabaseAside(paths.sqlite) : [];
  const bar = ctx.progress('replay', o.json);
  let report: ReplayReport;
  try {
    report = await replayJsonlIntoSqlite({ dir }, { onProgress: (a, b) => bar.update(a, b) });
  } finally {
    bar.stop();
  }
  if (o.json) await ctx.out.json(o.rebuild ? { ...report, movedAside: moved } : report);
  else {
    for (const m of moved) await ctx.out.say(`${'moved aside'.padEnd(12)} ${m.from} -> ${m.to}`);
    if (o.rebuild && moved.length === 0) await ctx.out.say(`${'moved aside'.padEnd(12)} nothing (there was no ledger.db)`);
    for (const line of replayReportText(report)) await ctx.out.say(line);
  }
  ctx.exitCode = replayExitCode(report);
  const t = report.tornTail;
  if (t) {
    ctx.complain(
      t.code === 'TORN_LINE'
        ? `DRIFT: events.jsonl ends with an unfinished line (${t.length} bytes at offset ${t.offset}); the next doctor --reconcile or append moves it to torn/`
        : `TAMPERED: replay stopped at offset ${t.offset}: ${t.code}: ${t.reason}; events.jsonl was not changed (run: sealed-ledger verify ${dir})`,
    );
  }
}
