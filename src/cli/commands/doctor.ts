/**
 * `sealed-ledger doctor <dir> [--reconcile]` (spec §14.2, §15.1). Diagnoses drift; with
 * --reconcile heals it through Ledger.open (replay past the watermark, restore hand-deleted
 * rows, move a torn tail aside) and confirms parity afterwards. It refuses, changing nothing,
 * when the diagnosis finds tampering: healing must never paper over evidence.
 */
import type { CliContext } from '../context.js';
import { reconcileReportText, verifyReportText } from '../report-text.js';
import { countSeqs, describeRanges, driftCount, exitCodeOfVerdict, tamperAdvice, tamperFindings, type Verdict, verdictLine, verdictOf } from '../verdict.js';
import { runVerify } from './verify.js';
import { type EventSetParity, Ledger, type ReconcileReport, verifyEventSetParity, type VerifyReport } from '../../index.js';

export interface DoctorOptions {
  reconcile?: boolean;
  json?: boolean;
}

function diagnosis(report: VerifyReport) {
  return {
    verdict: verdictOf(report),
    drift: driftCount(report),
    missingFromSqlite: report.parity.missingFromSqlite,
    tornTail: report.tornTail,
    findings: tamperFindings(report),
  };
}

/** Why reconcile cannot heal this, naming the seqs, and what would. */
function refusal(report: VerifyReport, dir: string): string {
  const f = tamperFindings(report);
  const p = report.parity;
  const first = f[0]!;
  const storesOnly = report.problemCount === 0 && f.every((x) => x.code === 'MIRROR_CONFLICT' || x.code === 'SQLITE_AHEAD');
  let what: string;
  if (p.mismatchCount > 0 && storesOnly && p.missingFromJsonl.length === 0) {
    what = `ledger.db rows were changed and differ from events.jsonl at seq ${p.mismatches.map((m) => m.seq).join(', ')}${p.mismatchCount > p.mismatches.length ? ', …' : ''}`;
  } else if (storesOnly && p.missingFromJsonl.length > 0) {
    what = `ledger.db holds events that events.jsonl lacks (${describeRanges(p.missingFromJsonl)})`;
  } else {
    const seqs = [...new Set(f.filter((x) => x.seq !== undefined).map((x) => x.seq))];
    what = `${first.code}${first.seq === undefined ? '' : ` at seq ${first.seq}`}: ${first.message}` +
      (seqs.length > 1 ? ` (seqs involved: ${seqs.slice(0, 20).join(', ')}${seqs.length > 20 ? ', …' : ''})` : '');
  }
  const remedy = tamperAdvice(report, dir);
  return `${first.code}: cannot heal: ${what}; ${remedy}; nothing was changed`;
}

function healedText(d: ReturnType<typeof diagnosis>, healed: ReconcileReport, after: EventSetParity): string[] {
  const parts: string[] = [];
  if (d.missingFromSqlite.length > 0) parts.push(describeRanges(d.missingFromSqlite));
  if (d.tornTail) parts.push(`torn tail at offset ${d.tornTail.offset}`);
  const still = { missingFromSqlite: after.missingFromSqlite, missingFromJsonl: after.missingFromJsonl, mismatches: after.mismatchCount, defects: after.jsonlDefects.length };
  return [
    `${'diagnosis'.padEnd(12)} ${d.drift === 0 ? 'no drift' : `drift of ${d.drift} (${parts.join('; ')})`}`,
    ...reconcileReportText(healed),
    `${'parity'.padEnd(12)} ${after.inParity ? `OK: events.jsonl and ledger.db both hold ${after.jsonlCount} events` : `still out of parity: ${JSON.stringify(still)}`}`,
  ];
}

function parityVerdict(p: EventSetParity): Verdict {
  if (p.inParity) return 'ok';
  const healable = p.missingFromJsonl.length === 0 && p.mismatchCount === 0 && p.jsonlDefects.length === 0;
  return healable ? 'drift' : 'tampered';
}

export async function doctor(ctx: CliContext, dir: string, o: DoctorOptions): Promise<void> {
  const before = await runVerify(ctx, dir, { json: o.json });
  const d = diagnosis(before);
  if (!o.reconcile || d.verdict === 'tampered') {
    if (o.json) await ctx.out.json({ diagnosis: d, report: before });
    else {
      for (const line of verifyReportText(before, dir)) await ctx.out.say(line);
      await ctx.out.say(`${'drift'.padEnd(12)} ${d.drift === 0 ? 'none' : `${d.drift} (${countSeqs(d.missingFromSqlite)} events missing from ledger.db${d.tornTail ? ', a torn tail' : ''})`}`);
    }
    if (o.reconcile) ctx.complain(refusal(before, dir));
    else {
      const line = verdictLine(before, dir);
      if (line) ctx.complain(line);
    }
    ctx.exitCode = exitCodeOfVerdict(d.verdict);
    return;
  }
  // Ledger.open reconciles (spec §14.2); its typed errors (SQLITE_AHEAD, MIRROR_CONFLICT,
  // LEDGER_CORRUPT) name the seqs and reach the user as one line with exit 2.
  const ledger = await Ledger.open({ dir, lockTimeoutMs: ctx.lockTimeoutMs });
  for (const w of ledger.warnings) ctx.note(`warning: ${w}`);
  const healed: ReconcileReport = ledger.lastReconcile;
  await ledger.close();
  const after = await verifyEventSetParity({ dir });
  const verdict = parityVerdict(after);
  if (o.json) await ctx.out.json({ diagnosis: d, reconcile: healed, after, verdict });
  else {
    for (const line of healedText(d, healed, after)) await ctx.out.say(line);
  }
  if (verdict !== 'ok') ctx.complain(`${verdict === 'drift' ? 'DRIFT' : 'TAMPERED'}: parity does not hold after reconcile; run: sealed-ledger verify ${dir}`);
  ctx.exitCode = exitCodeOfVerdict(verdict);
}
