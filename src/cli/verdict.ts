/**
 * What a VerifyReport means for an operator (spec §15.3): all holds, drift that reconcile heals,
 * or tampering/corruption that it must not paper over. Drift is only what a crash or a lost
 * ledger.db leaves behind: events missing from ledger.db and a torn (newline-less) last line.
 */
import { EXIT, type ExitCode } from './exit-codes.js';
import { type SeqRange, type VerifyReport } from '../index.js';

export type Verdict = 'ok' | 'drift' | 'tampered';

/** One reason a ledger fails verification, in one shape for reports and the stderr line. */
export interface Finding {
  code: string;
  seq?: number;
  message: string;
}

function isTornTailDefect(report: VerifyReport, offset: number): boolean {
  return report.tornTail !== null && report.tornTail.offset === offset;
}

/** Everything that is not healable drift, problems first, in file order within each kind. */
export function tamperFindings(report: VerifyReport): Finding[] {
  const p = report.parity;
  const out: Finding[] = report.problems.map((x) =>
    x.seq === undefined ? { code: x.code, message: x.message } : { code: x.code, seq: x.seq, message: x.message.replace(`seq ${x.seq}: `, '') },
  );
  for (const m of p.mismatches) {
    out.push({ code: 'MIRROR_CONFLICT', seq: m.seq, message: `ledger.db row differs from events.jsonl (fields: ${m.fields.join(', ')})` });
  }
  for (const r of p.missingFromJsonl) {
    out.push({ code: 'SQLITE_AHEAD', seq: r.from, message: `${describeRange(r)} in ledger.db but not in events.jsonl` });
  }
  for (const d of p.jsonlDefects) {
    if (isTornTailDefect(report, d.offset)) continue;
    out.push({ code: 'MALFORMED_LINE', message: `events.jsonl ${d.lineNo === undefined ? '' : `line ${d.lineNo}, `}offset ${d.offset}: ${d.reason}` });
  }
  return out;
}

/** How many findings there are in all (`tamperFindings` lists at most the library's caps). */
export function findingCount(report: VerifyReport): number {
  const p = report.parity;
  const extraDefects = p.jsonlDefectCount - p.jsonlDefects.filter((d) => isTornTailDefect(report, d.offset)).length;
  return report.problemCount + p.mismatchCount + p.missingFromJsonl.length + extraDefects;
}

export function countSeqs(ranges: readonly SeqRange[]): number {
  return ranges.reduce((n, r) => n + r.to - r.from + 1, 0);
}

export function describeRange(r: SeqRange): string {
  return r.from === r.to ? `seq ${r.from}` : `seq ${r.from}..${r.to}`;
}

/** "seq 3, seq 7..9" with at most `max` ranges shown. */
export function describeRanges(ranges: readonly SeqRange[], max = 8): string {
  const shown = ranges.slice(0, max).map(describeRange).join(', ');
  return ranges.length > max ? `${shown}, and ${ranges.length - max} more ranges` : shown;
}

/**
 * Where the damage is, which decides the advice (spec §15.3): only in ledger.db (rebuild it
 * from events.jsonl), events.jsonl lost events ledger.db still remembers (restore events.jsonl;
 * never rebuild over the evidence), or events.jsonl itself fails (investigate, restore).
 */
export type DamageScope = 'projection' | 'lost-tail' | 'canonical';

const PROJECTION_CODES = new Set(['MIRROR_CONFLICT', 'MERKLE_NODE_MISMATCH', 'CHECKPOINT_RECORD_MISMATCH', 'PROJECTION_TAMPER']);
const LOST_TAIL_CODES = new Set(['SQLITE_AHEAD', 'WATERMARK_PAST_END']);

export function damageScope(report: VerifyReport): DamageScope {
  const findings = tamperFindings(report);
  const lastSeq = report.events - 1;
  const lost = (f: Finding) => LOST_TAIL_CODES.has(f.code) || (f.code === 'PROJECTION_TAMPER' && f.seq !== undefined && f.seq > lastSeq);
  // Findings past the report's caps are unseen: then nothing is known to be only in ledger.db.
  if (findingCount(report) === findings.length && findings.every((f) => PROJECTION_CODES.has(f.code) || lost(f))) {
    return findings.some(lost) ? 'lost-tail' : 'projection';
  }
  return 'canonical';
}

/** What to do about a tampered verdict, for the stderr line, the report and doctor's refusal. */
export function tamperAdvice(report: VerifyReport, dir: string): string {
  switch (damageScope(report)) {
    case 'projection':
      return `events.jsonl verifies; only ledger.db differs from it: rebuild ledger.db with: sealed-ledger replay ${dir} --rebuild (the old ledger.db is kept aside)`;
    case 'lost-tail':
      return 'events.jsonl lost events that ledger.db mirrored: restore events.jsonl from a backup or an off-host copy; do not rebuild ledger.db, it holds the evidence';
    default:
      return 'events.jsonl itself fails verification: do not reconcile; investigate the seqs above and restore events.jsonl from a backup or an off-host copy';
  }
}

export function verdictOf(report: VerifyReport): Verdict {
  if (report.ok) return 'ok';
  return findingCount(report) > 0 ? 'tampered' : 'drift';
}

export function exitCodeOfVerdict(v: Verdict): ExitCode {
  return v === 'ok' ? EXIT.OK : v === 'drift' ? EXIT.DRIFT : EXIT.TAMPERED;
}

/** Events that reconcile would replay: those missing from ledger.db (all of them without one). */
export function driftCount(report: VerifyReport): number {
  return countSeqs(report.parity.missingFromSqlite) + (report.tornTail ? 1 : 0);
}

/** The one-line summary for stderr, or undefined when all holds. */
export function verdictLine(report: VerifyReport, dir: string): string | undefined {
  const v = verdictOf(report);
  if (v === 'ok') return undefined;
  if (v === 'drift') {
    const parts: string[] = [];
    const missing = countSeqs(report.parity.missingFromSqlite);
    if (missing > 0) parts.push(`${missing} event${missing === 1 ? '' : 's'} missing from ledger.db (${describeRanges(report.parity.missingFromSqlite, 3)})`);
    if (report.parity.watermark === null) parts.push('ledger.db is missing');
    if (report.tornTail) parts.push(`a torn last line (${report.tornTail.length} bytes at offset ${report.tornTail.offset})`);
    return `DRIFT: ${parts.join('; ')}; heal with: sealed-ledger doctor ${dir} --reconcile`;
  }
  const findings = tamperFindings(report);
  const first = findings[0]!;
  const total = findingCount(report);
  return `TAMPERED: ${first.code}${first.seq === undefined ? '' : ` at seq ${first.seq}`}: ${first.message}` +
    (total > 1 ? ` (and ${total - 1} more)` : '') + `; ${tamperAdvice(report, dir)}`;
}
