/**
 * verify and reconcile stay within bounded memory on any input (spec §7.2, §14.4): defect lists
 * are capped with a count of the rest, a line longer than the limit is rejected as soon as the
 * limit is passed, never buffered whole, and reading is linear. Was: 10M lines of `{}` grew
 * `parity.jsonlDefects` without a cap (4.6 GB RSS); one 100 MB line was concatenated
 * quadratically in JsonlFile.lines (70 s, 800 MB RSS). The full-size runs are in
 * `npm run fuzz -- --suite bounds`; these are the CI-sized slices.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { cleanupAll, fresh } from './ledger-helpers.js';

afterEach(cleanupAll);

const child = path.join(path.dirname(new URL(import.meta.url).pathname), 'children', 'verify-rss.mjs');
const workerUrl = new URL('../../dist/audit/verify-worker.js', import.meta.url);

beforeAll(() => {
  if (!fs.existsSync(workerUrl)) throw new Error('run `npm run build` first (npm test does)');
});

function verifyInChild(dir: string, workers = 0): { ms: number; maxRssMiB: number; problemCount: number; problems: number; firstProblem: { code: string; message: string } | null; defects: number; defectCount: number } {
  const r = spawnSync(process.execPath, [child, dir, String(workers)], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function ledgerOf(n: number): Promise<string> {
  const dir = fresh();
  const l = await Ledger.open({ dir, create: true });
  for (let i = 0; i < n; i++) await l.append({ kind: 'doc.edit', payload: i });
  await l.close();
  return dir;
}

describe('bounded verify', () => {
  it('a 64 MiB line: rejected without buffering it (peak RSS within 40 MiB of a tiny ledger), in linear time', async () => {
    const small = await ledgerOf(2);
    const big = await ledgerOf(2);
    const fd = fs.openSync(path.join(big, 'events.jsonl'), 'a');
    const block = Buffer.alloc(1 << 20, 0x61);
    fs.writeSync(fd, '{"v":1,"payload":"');
    for (let i = 0; i < 64; i++) fs.writeSync(fd, block);
    fs.writeSync(fd, '"}\n');
    fs.closeSync(fd);
    const base = verifyInChild(small);
    const r = verifyInChild(big);
    console.log(`64 MiB line: ${r.ms} ms, peak RSS ${r.maxRssMiB} MiB (tiny ledger: ${base.maxRssMiB} MiB)`);
    expect(r.firstProblem).toMatchObject({ code: 'MALFORMED_LINE' });
    expect(r.firstProblem!.message).toContain('longer than the line limit');
    expect(r.maxRssMiB - base.maxRssMiB).toBeLessThan(40);
    expect(r.ms).toBeLessThan(20_000);
  }, 120_000);

  it('60,000 lines of {}: problems and defects are capped at 1,000 each with the full counts', async () => {
    const dir = fresh();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'events.jsonl'), '{}\n'.repeat(60_000));
    const r = await verifyLedger({ dir }, { workers: 0 });
    expect([r.problems.length, r.problemCount]).toEqual([1000, 60_000]);
    expect([r.parity.jsonlDefects.length, r.parity.jsonlDefectCount]).toEqual([1000, 60_000]);
    expect(r.ok).toBe(false);
  }, 60_000);

  it('the worker path reports an overlong line like the inline path, and its neighbours still verify', async () => {
    const dir = await ledgerOf(3);
    const p = path.join(dir, 'events.jsonl');
    const lines = fs.readFileSync(p, 'utf8').split('\n').slice(0, -1);
    const long = `{"pad":"${'z'.repeat(3 << 20)}"}`;
    fs.writeFileSync(p, [lines[0], lines[1], long, lines[2], ''].join('\n'));
    const inline = await verifyLedger({ dir }, { workers: 0 });
    const parallel = await verifyLedger({ dir }, { workers: 2, workerUrl, batchBytes: 64 << 10 });
    const shape = (r: typeof inline) => r.problems.map((q) => `${q.code}@line ${q.lineNo}`);
    expect(shape(inline)).toEqual(['MALFORMED_LINE@line 3']);
    expect(shape(parallel)).toEqual(shape(inline));
    expect(parallel.events).toBe(3);
  }, 60_000);
});
