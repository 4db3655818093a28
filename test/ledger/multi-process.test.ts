// spec §13.2: writers in several processes are serialized by SQLite's write lock; lines are never
// interleaved, seq stays contiguous, and a writer killed while holding the lock wedges nobody.
// These tests run the built package (npm test builds first).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { Ledger } from '../../src/ledger/ledger.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { jsonlLines, ledgerDir, openNew, sqliteRows, type Fixture } from './ledger-helpers.js';

const children = path.join(path.dirname(new URL(import.meta.url).pathname), 'children');
const fixtures: Fixture[] = [];
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()));

beforeAll(() => {
  if (!fs.existsSync(new URL('../../dist/index.js', import.meta.url))) throw new Error('run `npm run build` first (npm test does)');
});

function run(script: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(children, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('several processes, one ledger (spec §13.2)', () => {
  it('4 processes appending concurrently produce one valid, contiguous ledger', async () => {
    const f = ledgerDir();
    fixtures.push(f);
    await (await openNew(f.dir)).close();
    const results = await Promise.all([
      run('writer.mjs', [f.dir, 'w0', '150', '1']),
      run('writer.mjs', [f.dir, 'w1', '150', '1']),
      run('writer.mjs', [f.dir, 'w2', '300', '25']),
      run('writer.mjs', [f.dir, 'w3', '300', '7']),
    ]);
    for (const r of results) expect(r, r.err).toMatchObject({ code: 0 });
    const acked = results.flatMap((r) => r.out.trim().split('\n')).map((l) => l.split(' '));
    expect(acked).toHaveLength(900);
    expect(new Set(acked.map((a) => a[1])).size).toBe(900);
    const lines = jsonlLines(f.dir);
    expect(lines).toHaveLength(900);
    lines.forEach((l, i) => expect(JSON.parse(l).seq).toBe(i));
    for (const [, seq, id] of acked) expect(JSON.parse(lines[Number(seq)]!).id).toBe(id);
    expect(sqliteRows(f.dir).map((r) => r.line)).toEqual(lines);
    const report = await verifyLedger({ dir: f.dir });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('a writer SIGKILLed while holding the lock does not wedge the others', async () => {
    const f = ledgerDir();
    fixtures.push(f);
    const ledger = await openNew(f.dir, { lockTimeoutMs: 5000 });
    await ledger.append({ kind: 'k', payload: 0 });
    const child = spawn(process.execPath, [path.join(children, 'lock-holder.mjs'), path.join(f.dir, 'ledger.db')], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    const blocked = ledger.append({ kind: 'k', payload: 1 });
    let settled = false;
    void blocked.finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false); // really waiting on the other process's lock
    child.kill('SIGKILL');
    expect((await blocked).seq).toBe(1);
    await ledger.close();
  });

  it('a lock held too long gives LOCK_TIMEOUT, not a hang', async () => {
    const f = ledgerDir();
    fixtures.push(f);
    const ledger = await openNew(f.dir, { lockTimeoutMs: 300 });
    const child = spawn(process.execPath, [path.join(children, 'lock-holder.mjs'), path.join(f.dir, 'ledger.db')], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    try {
      await expect(ledger.append({ kind: 'k', payload: 1 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    } finally {
      child.kill('SIGKILL');
    }
    expect((await ledger.append({ kind: 'k', payload: 2 })).seq).toBe(0);
    await ledger.close();
    const reopened = await Ledger.open({ dir: f.dir });
    expect(reopened.headInfo().seq).toBe(0);
    await reopened.close();
  });
});
