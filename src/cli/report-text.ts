/**
 * Human-readable reports (spec §15.2). Stable labels at the start of each line so a person can
 * scan them and grep can find them; the machine form is always --json.
 */
import path from 'node:path';
import { countSeqs, describeRanges, findingCount, tamperAdvice, tamperFindings, verdictOf } from './verdict.js';
import { type ReconcileReport, type ReplayReport, type VerifyReport } from '../index.js';

const MAX_LISTED = 20;

function row(label: string, value: string): string {
  return `${label.padEnd(12)} ${value}`;
}

export function ms(n: number): string {
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(2)} s`;
}

export function verifyReportText(report: VerifyReport, dir: string): string[] {
  const p = report.parity;
  const lines = [
    row('ledger', path.resolve(dir)),
    row('events', `${report.events} (${report.signed} signed, ${report.unsigned} unsigned)`),
    row('root', `${report.rootHash} (tree size ${report.events})`),
    row('checkpoints', `${report.checkpoints.checked} checked, ${report.checkpoints.problems} failed`),
    row('parity', `events.jsonl ${p.jsonlCount} events, ledger.db ${p.watermark === null ? 'missing' : `${p.sqliteCount} rows`}`),
  ];
  const missing = countSeqs(p.missingFromSqlite);
  if (missing > 0) lines.push(row('', `missing from ledger.db: ${missing} (${describeRanges(p.missingFromSqlite)})`));
  if (p.missingFromJsonl.length > 0) lines.push(row('', `missing from events.jsonl: ${countSeqs(p.missingFromJsonl)} (${describeRanges(p.missingFromJsonl)})`));
  if (p.mismatchCount > 0) lines.push(row('', `rows differing from events.jsonl: ${p.mismatchCount} (seq ${p.mismatches.slice(0, 8).map((m) => m.seq).join(', ')}${p.mismatchCount > 8 ? ', …' : ''})`));
  lines.push(row('torn tail', report.tornTail ? `${report.tornTail.length} bytes at offset ${report.tornTail.offset} (an unfinished append)` : 'none'));
  lines.push(row('signing', report.signaturesRequiredFrom === null ? 'optional (no signing policy)' : `required from seq ${report.signaturesRequiredFrom}`));
  for (const w of report.warnings) lines.push(row('warning', w));
  const pr = report.projection;
  if (pr?.watermarkPastEnd) lines.push(row('watermark', `seq ${pr.watermarkPastEnd.seq} at byte ${pr.watermarkPastEnd.offset}: past the end of events.jsonl`));
  if (pr && pr.tamperRecordCount > 0) lines.push(row('tamper log', `${pr.tamperRecordCount} projection_tamper record${pr.tamperRecordCount === 1 ? '' : 's'} (seq ${pr.tamperRecords.slice(0, 8).map((r) => `${r.seq} ${r.op}`).join(', ')}${pr.tamperRecordCount > 8 ? ', …' : ''})`));
  const t = report.trust;
  lines.push(row('trust', t.keys === 'trusted' ? 'keys given out of band (--trusted-keys)' : "the folder's own keyring.json"));
  lines.push(row('', t.statement));
  for (const c of t.externalCheckpoints) lines.push(row('', `external checkpoint of size ${c.size}: ${c.consistent ? 'extended by this ledger' : 'NOT extended by this ledger'}`));
  lines.push(row('', t.limits));
  const wf = report.witness;
  if (wf) lines.push(row('witness', witnessLine(wf)));
  const findings = tamperFindings(report);
  if (findings.length === 0) lines.push(row('problems', 'none'));
  else {
    const total = findingCount(report);
    lines.push(row('problems', String(total)));
    for (const f of findings.slice(0, MAX_LISTED)) lines.push(`  ${f.seq === undefined ? '' : `seq ${f.seq}  `}${f.code}  ${f.message}`);
    if (total > MAX_LISTED) lines.push(`  … ${total - MAX_LISTED} more (use --json for the full list)`);
  }
  const v = verdictOf(report);
  lines.push(row('verdict', v === 'ok' ? 'OK' : v === 'drift' ? `DRIFT: heal with: sealed-ledger doctor ${dir} --reconcile` : `TAMPERED: ${tamperAdvice(report, dir)}`));
  return lines;
}

function witnessLine(w: NonNullable<VerifyReport['witness']>): string {
  if (w.size === null) return w.records === 0 ? 'not witnessed (no witness.jsonl record)' : 'no witness record counts (see problems)';
  return `witnessed by ${w.witness} up to size ${w.size} (${w.verified ? 'cosignature verified with --witness-key' : 'cosignature not verified: pass --witness-key'})`;
}

export function replayReportText(r: ReplayReport): string[] {
  const lines = [
    row('replayed', `${r.inserted} events into ledger.db (${r.scanned} lines scanned, ${r.alreadyPresent} already present)`),
    row('seq', `${r.fromSeq === -1 ? 'from the start' : `after ${r.fromSeq}`} through ${r.toSeq}`),
  ];
  if (r.tornTail) {
    lines.push(row('tail', `${r.tornTail.code} at offset ${r.tornTail.offset} (${r.tornTail.length} bytes): ${r.tornTail.reason}; not replayed, events.jsonl unchanged`));
  }
  for (const e of r.errors.filter((e) => !r.tornTail || e.offset !== r.tornTail.offset)) {
    lines.push(row('error', `${e.code}${e.seq === undefined ? '' : ` seq ${e.seq}`}: ${e.message}`));
  }
  lines.push(row('duration', ms(r.durationMs)));
  return lines;
}

export function reconcileReportText(r: ReconcileReport): string[] {
  const lines = [
    row('replayed', `${r.replayed} event${r.replayed === 1 ? '' : 's'} past the watermark into ledger.db`),
    row('restored', r.restored.length === 0 ? 'none' : `${r.restored.length} hand-deleted row${r.restored.length === 1 ? '' : 's'} (seq ${r.restored.slice(0, 20).join(', ')}${r.restored.length > 20 ? ', …' : ''})`),
    row('torn tail', r.tornTail ? `${r.tornTail.length} bytes at offset ${r.tornTail.offset} (${r.tornTail.code}) moved to ${r.tornTail.savedTo}` : 'none'),
    row('head', `seq ${r.after.seq} (was ${r.before.seq} in ledger.db)`),
  ];
  return lines;
}
