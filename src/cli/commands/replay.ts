/**
 * `sealed-ledger replay <dir> [--rebuild]` (spec §14.3, §15.1): disaster recovery. Catches
 * ledger.db up from events.jsonl; --rebuild builds a fresh one beside it and swaps it in only
 * when it reaches the old projection's head, moving the old ledger.db (and its WAL files) aside
 * under a timestamped name. Nothing is deleted.
 */
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { requireLedger } from '../ledger-folder.js';
import { replayReportText } from '../report-text.js';
import { rebuildProjection, type RebuildReport, replayJsonlIntoSqlite, type ReplayReport } from '../../index.js';

export { moveDatabaseAside } from '../../ledger/rebuild.js';

function replayExitCode(r: ReplayReport): number {
  if (!r.tornTail) return EXIT.OK;
  return r.tornTail.code === 'TORN_LINE' ? EXIT.DRIFT : EXIT.TAMPERED;
}

export async function replay(ctx: CliContext, dir: string, o: { rebuild?: boolean; json?: boolean; workers?: number }): Promise<void> {
  requireLedger(dir);
  const bar = ctx.progress('replay', o.json);
  let report: ReplayReport | RebuildReport;
  try {
    const options = { onProgress: (a: number, b: number) => bar.update(a, b), ...(o.workers === undefined ? {} : { workers: o.workers }) };
    report = o.rebuild ? await rebuildProjection(dir, options) : await replayJsonlIntoSqlite({ dir }, options);
  } finally {
    bar.stop();
  }
  const rebuilt = 'replaced' in report ? (report as RebuildReport) : undefined;
  if (o.json) await ctx.out.json(report);
  else {
    for (const m of rebuilt?.movedAside ?? []) await ctx.out.say(`${'moved aside'.padEnd(12)} ${m.from} -> ${m.to}`);
    if (rebuilt?.replaced && rebuilt.movedAside.length === 0) await ctx.out.say(`${'moved aside'.padEnd(12)} nothing (there was no ledger.db)`);
    for (const line of replayReportText(report)) await ctx.out.say(line);
  }
  if (rebuilt && !rebuilt.replaced) {
    ctx.exitCode = EXIT.TAMPERED;
    const t = rebuilt.tornTail;
    ctx.complain(
      `TAMPERED: ${t ? `replay stopped at offset ${t.offset}: ${t.code}: ${t.reason}; ` : ''}` +
        `the rebuild from events.jsonl reaches seq ${rebuilt.toSeq} but the current ledger.db holds events up to seq ${rebuilt.oldHead}, ` +
        `so ledger.db was left in place and nothing was changed (run: sealed-ledger verify ${dir})`,
    );
    return;
  }
  ctx.exitCode = replayExitCode(report);
  const t = report.tornTail;
  if (t) {
    ctx.complain(
      t.code === 'TORN_LINE'
        ? `DRIFT: events.jsonl ends with an unfinished line (${t.length} bytes at offset ${t.offset}); the next doctor --reconcile or append completes it when it is a whole event, or moves it to torn/`
        : `TAMPERED: replay stopped at offset ${t.offset}: ${t.code}: ${t.reason}; events.jsonl was not changed (run: sealed-ledger verify ${dir})`,
    );
  }
}
