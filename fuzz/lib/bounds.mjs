/**
 * Memory and time bounds of verify and reconcile on adversarial input (spec §7.2, §14.4), at full
 * size: 1M lines of `{}` and one 100 MiB line. Each runs in a child process so its peak RSS
 * (resourceUsage().maxRSS) is its own, next to a same-run baseline: a ledger of two events.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const CHILD = `
const [dist, dir, what] = process.argv.slice(1);
const lib = await import(dist);
const t = performance.now();
let out;
if (what === 'verify') {
  const r = await lib.verifyLedger({ dir }, { workers: 0 });
  out = { problems: r.problems.length, problemCount: r.problemCount, defects: r.parity.jsonlDefects.length, defectCount: r.parity.jsonlDefectCount };
} else {
  try {
    const l = await lib.Ledger.open({ dir });
    out = { head: l.headInfo().seq, torn: l.lastReconcile.tornTail?.code ?? null };
    await l.close();
  } catch (e) {
    out = { error: e.code };
  }
}
out.ms = Math.round(performance.now() - t);
out.maxRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
console.log(JSON.stringify(out));
`;

function child(lib, dir, what) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, pathToFileURL(path.join(lib.dist, 'index.js')).href, dir, what], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`bounds child failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function ledgerOf(lib, dir, n) {
  const l = await lib.Ledger.open({ dir, create: true });
  for (let i = 0; i < n; i++) await l.append({ kind: 'doc.edit', payload: i });
  await l.close();
}

/** Returns the measured rows; throws when a bound does not hold. */
export async function boundsRuns(lib, root) {
  const base = path.join(root, 'bounds-base');
  await ledgerOf(lib, base, 2);
  const rows = [];
  const baseline = { verify: child(lib, base, 'verify'), open: child(lib, base, 'open') };

  const lines = path.join(root, 'bounds-lines');
  await ledgerOf(lib, lines, 2);
  const fd = fs.openSync(path.join(lines, 'events.jsonl'), 'a');
  const block = Buffer.from('{}\n'.repeat(100_000));
  for (let i = 0; i < 10; i++) fs.writeSync(fd, block);
  fs.closeSync(fd);
  const v1 = child(lib, lines, 'verify');
  rows.push({ case: '1M lines of {}: verify', ...v1, baselineRssMiB: baseline.verify.maxRssMiB });
  if (v1.defects > 1000 || v1.defectCount !== 1_000_000) throw new Error(`1M lines: defects not capped: ${JSON.stringify(v1)}`);
  const o1 = child(lib, lines, 'open');
  rows.push({ case: '1M lines of {}: open (reconcile)', ...o1, baselineRssMiB: baseline.open.maxRssMiB });

  const long = path.join(root, 'bounds-long');
  await ledgerOf(lib, long, 2);
  const fd2 = fs.openSync(path.join(long, 'events.jsonl'), 'a');
  const mib = Buffer.alloc(1 << 20, 0x61);
  fs.writeSync(fd2, '{"v":1,"payload":"');
  for (let i = 0; i < 100; i++) fs.writeSync(fd2, mib);
  fs.writeSync(fd2, '"}\n');
  fs.closeSync(fd2);
  const v2 = child(lib, long, 'verify');
  rows.push({ case: '100 MiB line: verify', ...v2, baselineRssMiB: baseline.verify.maxRssMiB });
  const o2 = child(lib, long, 'open');
  rows.push({ case: '100 MiB line: open (moved aside)', ...o2, baselineRssMiB: baseline.open.maxRssMiB });
  for (const r of rows) {
    if (r.maxRssMiB - r.baselineRssMiB > 64) throw new Error(`${r.case}: peak RSS ${r.maxRssMiB} MiB, baseline ${r.baselineRssMiB} MiB`);
  }
  return rows;
}
