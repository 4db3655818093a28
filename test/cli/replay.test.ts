import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import type { ReplayReport } from '../../src/ledger/replay.js';
import { cli, ensureBuilt, expectOneErrorLine } from './cli-harness.js';
import { type Fixture, jsonlLines, signedLedger, sql } from './fixtures.js';

beforeAll(ensureBuilt);

let f: Fixture;
afterEach(() => f?.cleanup());

const dbFiles = (dir: string) => fs.readdirSync(dir).filter((n) => n.startsWith('ledger.db')).sort();

describe('replay', () => {
  it('deleted ledger.db: verify 1; replay rebuilds it from events.jsonl; verify 0', async () => {
    f = await signedLedger(120);
    for (const n of dbFiles(f.dir)) fs.rmSync(path.join(f.dir, n));
    const v = cli(['verify', f.dir]);
    expect(v.code).toBe(EXIT.DRIFT);
    expect(expectOneErrorLine(v.stderr, 'DRIFT')).toContain('120 events missing from ledger.db (seq 0..119); ledger.db is missing');
    const r = cli(['replay', f.dir, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as ReplayReport;
    expect(report).toMatchObject({ scanned: 120, inserted: 120, alreadyPresent: 0, fromSeq: -1, toSeq: 119, errors: [] });
    expect(cli(['verify', f.dir]).code).toBe(0);
    // A second replay has nothing to do.
    expect(JSON.parse(cli(['replay', f.dir, '--json']).stdout)).toMatchObject({ scanned: 0, inserted: 0, fromSeq: 119, toSeq: 119 });
  });

  it('--workers: worker threads and one thread build the same ledger.db and stop at the same defect; a bad count is a usage error', async () => {
    f = await signedLedger(60);
    const ls = jsonlLines(f.dir);
    ls[41] = ls[41]!.replace(`"n":41`, `"n":410`);
    fs.writeFileSync(path.join(f.dir, 'events.jsonl'), ls.join('\n') + '\n');
    const outcome = (workers: string) => {
      for (const n of dbFiles(f.dir)) fs.rmSync(path.join(f.dir, n));
      const r = cli(['replay', f.dir, '--json', '--workers', workers]);
      const { durationMs: _, ...report } = JSON.parse(r.stdout) as ReplayReport;
      const rows = sql(f.dir, (db) => db.prepare('SELECT seq, id, at, kind, actor, hash, kid, line, offset FROM events ORDER BY seq').all());
      const nodes = sql(f.dir, (db) => db.prepare('SELECT level, idx, hex(hash) AS h FROM merkle_nodes ORDER BY level, idx').all());
      return { code: r.code, report, rows, nodes };
    };
    const threaded = outcome('2');
    expect(threaded.code).toBe(EXIT.TAMPERED);
    expect(threaded.report).toMatchObject({ inserted: 41, toSeq: 40, tornTail: { code: 'SEAL_MISMATCH' } });
    expect(threaded).toEqual(outcome('0'));
    const bad = cli(['replay', f.dir, '--workers', '-1']);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.stderr).toMatch(/--workers/);
  });

  it('--rebuild keeps the old ledger.db aside, openable, and builds a fresh one', async () => {
    f = await signedLedger(30);
    sql(f.dir, (db) => db.prepare(`UPDATE events SET kind = 'forged' WHERE seq = 3`).run());
    const r = cli(['replay', f.dir, '--rebuild']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^moved aside +.*ledger\.db -> .*ledger\.db\.bak-\d{4}-\d\d-\d\dT[\d-]+Z$/m);
    expect(r.stdout).toMatch(/^replayed +30 events into ledger.db/m);
    const backup = dbFiles(f.dir).find((n) => /^ledger\.db\.bak-[^-]+-\d\d-\d\dT[\d-]+Z$/.test(n))!;
    expect(backup).toBeDefined();
    const old = new Database(path.join(f.dir, backup), { readonly: true });
    expect(old.prepare('SELECT kind FROM events WHERE seq = 3').get()).toEqual({ kind: 'forged' });
    old.close();
    expect(sql(f.dir, (db) => db.prepare('SELECT kind FROM events WHERE seq = 3').get())).toEqual({ kind: 'user.login' });
    expect(cli(['verify', f.dir]).code).toBe(0);
    // Rebuilding twice keeps both backups.
    expect(cli(['replay', f.dir, '--rebuild', '--json']).code).toBe(0);
    expect(dbFiles(f.dir).filter((n) => /^ledger\.db\.bak-[^-]+-\d\d-\d\dT[\d-]+Z(-\d+)?$/.test(n))).toHaveLength(2);
  });

  it('stops at a corrupt line, says where, never changes events.jsonl (exit 2)', async () => {
    f = await signedLedger(20);
    const ls = jsonlLines(f.dir);
    ls[9] = ls[9]!.replace('"n":9', '"n":10');
    fs.writeFileSync(path.join(f.dir, 'events.jsonl'), ls.join('\n') + '\n');
    const before = fs.readFileSync(path.join(f.dir, 'events.jsonl'));
    const r = cli(['replay', f.dir, '--rebuild']);
    expect(r.code).toBe(EXIT.TAMPERED);
    expect(r.stdout).toMatch(/^tail +SEAL_MISMATCH at offset \d+/m);
    expect(expectOneErrorLine(r.stderr, 'TAMPERED')).toMatch(/replay stopped at offset \d+: SEAL_MISMATCH: event seq 9/);
    expect(fs.readFileSync(path.join(f.dir, 'events.jsonl'))).toEqual(before);
  });
});
