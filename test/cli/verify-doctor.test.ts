import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { Ledger } from '../../src/ledger/ledger.js';
import type { VerifyReport } from '../../src/audit/verify-ledger.js';
import { SimulatedCrash } from '../../src/testing.js';
import { cli, ensureBuilt, expectOneErrorLine, lines } from './cli-harness.js';
import { type Fixture, jsonlLines, signedLedger, snapshot, sql } from './fixtures.js';

beforeAll(ensureBuilt);

let f: Fixture;
afterEach(() => f?.cleanup());

describe('verify', () => {
  it('a healthy ledger: exit 0, human report, nothing on stderr', async () => {
    f = await signedLedger(40);
    const r = cli(['verify', f.dir]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^events +40 \(40 signed, 0 unsigned\)$/m);
    expect(r.stdout).toMatch(/^parity +events.jsonl 40 events, ledger.db 40 rows$/m);
    expect(r.stdout).toMatch(/^verdict +OK$/m);
    const quiet = cli(['verify', f.dir, '--quiet']);
    expect([quiet.code, quiet.stdout, quiet.stderr]).toEqual([0, '', '']);
  });

  it('tampered JSONL: exit 2, names the seq and the reason, changes nothing', async () => {
    f = await signedLedger(40);
    const file = path.join(f.dir, 'events.jsonl');
    const ls = jsonlLines(f.dir);
    ls[17] = ls[17]!.replace(`"n":17`, `"n":71`);
    fs.writeFileSync(file, ls.join('\n') + '\n');
    const before = snapshot(f.dir);
    const r = cli(['verify', f.dir]);
    expect(r.code).toBe(EXIT.TAMPERED);
    expect(r.stdout).toMatch(/^ +seq 17 +SEAL_MISMATCH +/m);
    expect(expectOneErrorLine(r.stderr, 'TAMPERED')).toMatch(/SEAL_MISMATCH at seq 17/);
    const json = JSON.parse(cli(['verify', f.dir, '--json']).stdout) as VerifyReport;
    expect(json.ok).toBe(false);
    expect(json.problems).toContainEqual(expect.objectContaining({ code: 'SEAL_MISMATCH', seq: 17 }));
    expect(json.parity.mismatches.map((m) => m.seq)).toEqual([17]);
    expect(snapshot(f.dir)).toEqual(before);
    // doctor --reconcile refuses and changes nothing either.
    const d = cli(['doctor', f.dir, '--reconcile']);
    expect(d.code).toBe(EXIT.TAMPERED);
    expect(expectOneErrorLine(d.stderr, 'SEAL_MISMATCH')).toMatch(/cannot heal: .*seq 17.*nothing was changed/);
    expect(snapshot(f.dir)).toEqual(before);
  });

  it('--workers: worker threads and one thread give the same report; a bad count is a usage error', async () => {
    f = await signedLedger(40);
    const ls = jsonlLines(f.dir);
    ls[9] = ls[9]!.replace(`"n":9`, `"n":90`);
    fs.writeFileSync(path.join(f.dir, 'events.jsonl'), ls.join('\n') + '\n');
    const threaded = cli(['verify', f.dir, '--json', '--workers', '2']);
    const inline = cli(['verify', f.dir, '--json', '--workers', '0']);
    expect([threaded.code, inline.code]).toEqual([EXIT.TAMPERED, EXIT.TAMPERED]);
    expect(JSON.parse(threaded.stdout)).toEqual(JSON.parse(inline.stdout));
    expect((JSON.parse(inline.stdout) as VerifyReport).problems).toContainEqual(expect.objectContaining({ code: 'SEAL_MISMATCH', seq: 9 }));
    const bad = cli(['verify', f.dir, '--workers', 'many']);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.stderr).toMatch(/--workers/);
  });

  it('a signature swapped between events: exit 2 naming the seq', async () => {
    f = await signedLedger(10);
    const ls = jsonlLines(f.dir);
    const sigOf = (l: string) => /"sig":\{[^}]*\}/.exec(l)![0];
    ls[4] = ls[4]!.replace(sigOf(ls[4]!), sigOf(ls[5]!));
    fs.writeFileSync(path.join(f.dir, 'events.jsonl'), ls.join('\n') + '\n');
    const r = cli(['verify', f.dir]);
    expect(r.code).toBe(EXIT.TAMPERED);
    expect(expectOneErrorLine(r.stderr, 'TAMPERED')).toMatch(/INVALID_SIGNATURE at seq 4/);
  });
});

describe('hand-edited SQLite', () => {
  it('verify reports the mismatch (2); doctor --reconcile refuses with the seq; replay --rebuild repairs', async () => {
    f = await signedLedger(30);
    sql(f.dir, (db) => db.prepare(`UPDATE events SET line = replace(line, '"n":12', '"n":99') WHERE seq = 12`).run());
    const r = cli(['verify', f.dir]);
    expect(r.code).toBe(EXIT.TAMPERED);
    expect(r.stdout).toMatch(/rows differing from events.jsonl: 1 \(seq 12\)/);
    expect(expectOneErrorLine(r.stderr, 'TAMPERED')).toMatch(/MIRROR_CONFLICT at seq 12: ledger.db row differs from events.jsonl \(fields: payload\)/);

    const before = snapshot(f.dir);
    const d = cli(['doctor', f.dir, '--reconcile']);
    expect(d.code).toBe(EXIT.TAMPERED);
    const line = expectOneErrorLine(d.stderr, 'MIRROR_CONFLICT');
    expect(line).toContain('at seq 12');
    expect(line).toContain(`replay ${f.dir} --rebuild`);
    expect(snapshot(f.dir)).toEqual(before);

    const rebuilt = cli(['replay', f.dir, '--rebuild']);
    expect(rebuilt.code).toBe(0);
    expect(cli(['verify', f.dir]).code).toBe(0);
  });

  it('an update the triggers did not see (triggers dropped) is still found by verify', async () => {
    f = await signedLedger(10);
    sql(f.dir, (db) => {
      db.exec('DROP TRIGGER events_updated');
      db.prepare(`UPDATE events SET line = replace(line, '"n":3', '"n":4') WHERE seq = 3`).run();
    });
    const r = cli(['verify', f.dir, '--json']);
    expect(r.code).toBe(EXIT.TAMPERED);
    expect((JSON.parse(r.stdout) as VerifyReport).parity.mismatches.map((m) => m.seq)).toEqual([3]);
  });
});

describe('drift: deleted rows, torn tail', () => {
  it('deleted SQLite rows: verify 1 with the ranges; doctor diagnoses 1; doctor --reconcile heals 0; verify 0', async () => {
    f = await signedLedger(50);
    sql(f.dir, (db) => db.prepare('DELETE FROM events WHERE seq IN (5, 6, 7, 30)').run());
    const v = cli(['verify', f.dir]);
    expect(v.code).toBe(EXIT.DRIFT);
    expect(v.stdout).toMatch(/missing from ledger.db: 4 \(seq 5..7, seq 30\)/);
    expect(expectOneErrorLine(v.stderr, 'DRIFT')).toContain(`doctor ${f.dir} --reconcile`);

    const before = snapshot(f.dir);
    const diag = cli(['doctor', f.dir, '--json']);
    expect(diag.code).toBe(EXIT.DRIFT);
    expect(JSON.parse(diag.stdout)).toMatchObject({ diagnosis: { verdict: 'drift', drift: 4, missingFromSqlite: [{ from: 5, to: 7 }, { from: 30, to: 30 }] } });
    expect(snapshot(f.dir)).toEqual(before);

    const heal = cli(['doctor', f.dir, '--reconcile']);
    expect(heal.code).toBe(EXIT.OK);
    expect(heal.stderr).toBe('');
    expect(heal.stdout).toMatch(/^restored +4 hand-deleted rows \(seq 5, 6, 7, 30\)$/m);
    expect(heal.stdout).toMatch(/^parity +OK: events.jsonl and ledger.db both hold 50 events$/m);
    expect(cli(['verify', f.dir]).code).toBe(EXIT.OK);
  });

  it('a torn last line: verify 1; doctor --reconcile moves it to torn/ and says where', async () => {
    f = await signedLedger(20);
    const file = path.join(f.dir, 'events.jsonl');
    const size = fs.statSync(file).size;
    fs.appendFileSync(file, '{"actor":"alice","at":"2026-');
    const v = cli(['verify', f.dir]);
    expect(v.code).toBe(EXIT.DRIFT);
    expect(expectOneErrorLine(v.stderr, 'DRIFT')).toContain(`a torn last line (28 bytes at offset ${size})`);
    const heal = cli(['doctor', f.dir, '--reconcile', '--json']);
    expect(heal.code).toBe(EXIT.OK);
    const out = JSON.parse(heal.stdout) as { reconcile: { tornTail: { savedTo: string; offset: number } }; verdict: string };
    expect(out.verdict).toBe('ok');
    expect(out.reconcile.tornTail.offset).toBe(size);
    expect(fs.readFileSync(out.reconcile.tornTail.savedTo, 'utf8')).toBe('{"actor":"alice","at":"2026-');
    expect(fs.statSync(file).size).toBe(size);
    expect(cli(['verify', f.dir]).code).toBe(EXIT.OK);
  });

  it('a crash after the JSONL fsync, before the SQLite commit: verify 1; doctor --reconcile replays it', async () => {
    f = await signedLedger(10);
    const ledger = await Ledger.open({
      dir: f.dir,
      signer: f.key,
      crashHook: (p) => {
        if (p === 'jsonl.synced') throw new SimulatedCrash(p);
      },
    });
    await expect(ledger.appendBatch([{ kind: 'late', payload: 1 }, { kind: 'late', payload: 2 }])).rejects.toThrow();
    await ledger.close();
    const v = cli(['verify', f.dir]);
    expect(v.code).toBe(EXIT.DRIFT);
    expect(v.stdout).toMatch(/missing from ledger.db: 2 \(seq 10..11\)/);
    const heal = cli(['doctor', f.dir, '--reconcile']);
    expect(heal.stdout).toMatch(/^replayed +2 events past the watermark into ledger.db$/m);
    expect(heal.code).toBe(EXIT.OK);
    expect(lines(cli(['export', f.dir, '--kind', 'late']).stdout)).toHaveLength(2);
  });
});
