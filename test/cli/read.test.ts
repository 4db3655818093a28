import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { parseEventLine } from '../../src/format/event-line.js';
import { BIN, cli, cliSpawn, ensureBuilt, expectOneErrorLine, lines, waitFor } from './cli-harness.js';
import { type Fixture, jsonlLines, signedLedger, sql } from './fixtures.js';

let f: Fixture;
beforeAll(async () => {
  ensureBuilt();
  f = await signedLedger(300);
});
afterAll(() => f?.cleanup());

const seqs = (out: string) => lines(out).map((l) => parseEventLine(l).event.seq);

describe('export', () => {
  it('prints every canonical line, byte for byte', () => {
    const r = cli(['export', f.dir]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual(jsonlLines(f.dir));
  });

  it('filters by seq range, kind and actor (AND)', () => {
    expect(seqs(cli(['export', f.dir, '--from', '250', '--to', '254']).stdout)).toEqual([250, 251, 252, 253, 254]);
    const r = cli(['export', f.dir, '--kind', 'doc.edit', '--actor', 'bob', '--to', '20']);
    // kind cycles user.login, doc.edit, doc.view; actor alternates alice (even), bob (odd)
    expect(seqs(r.stdout)).toEqual([1, 7, 13, 19]);
    expect(cli(['export', f.dir, '--from', '1000']).stdout).toBe('');
  });

  it('--from does not trust a wrong offset in ledger.db', () => {
    const original = sql(f.dir, (db) => db.prepare<[], { offset: number }>('SELECT offset FROM events WHERE seq = 200').get()!.offset);
    sql(f.dir, (db) => {
      db.exec('DROP TRIGGER IF EXISTS events_updated');
      db.prepare('UPDATE events SET offset = ? WHERE seq = 200').run(original - 10 * 350);
    });
    try {
      expect(seqs(cli(['export', f.dir, '--from', '200', '--to', '202']).stdout)).toEqual([200, 201, 202]);
    } finally {
      sql(f.dir, (db) => db.prepare('UPDATE events SET offset = ? WHERE seq = 200').run(original));
    }
  });

  it('stops quietly when the reader goes away (| head -n 1)', () => {
    // ~100 KB of output against a 64 KB pipe buffer: the export is still writing when head exits.
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" export "${f.dir}" | head -n 1`], { encoding: 'utf8' });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(seqs(r.stdout)).toEqual([0]);
  });

  it('a corrupt line stops the export with exit 2 after the good lines', async () => {
    const g = await signedLedger(5, 'sl-cli-bad-');
    try {
      const ls = jsonlLines(g.dir);
      ls[3] = ls[3]!.replace('"n":3', '"n":4');
      fs.writeFileSync(path.join(g.dir, 'events.jsonl'), ls.join('\n') + '\n');
      const r = cli(['export', g.dir]);
      expect(r.code).toBe(EXIT.TAMPERED);
      expect(seqs(r.stdout)).toEqual([0, 1, 2]);
      expect(expectOneErrorLine(r.stderr, 'LEDGER_CORRUPT')).toContain('event seq 3: hash does not match its content');
    } finally {
      g.cleanup();
    }
  });
});

describe('tail', () => {
  it('-n prints the last complete lines, skipping a torn one', async () => {
    const g = await signedLedger(5, 'sl-cli-tail-');
    try {
      fs.appendFileSync(path.join(g.dir, 'events.jsonl'), '{"partial');
      expect(seqs(cli(['tail', g.dir, '-n', '2']).stdout)).toEqual([3, 4]);
      expect(seqs(cli(['tail', g.dir, '-n', '50']).stdout)).toEqual([0, 1, 2, 3, 4]);
      expect(cli(['tail', g.dir, '-n', '0']).stdout).toBe('');
      expect(seqs(cli(['tail', g.dir]).stdout)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      g.cleanup();
    }
  });

  it('--follow prints appended events and stops cleanly on SIGTERM', async () => {
    const g = await signedLedger(3, 'sl-cli-follow-');
    try {
      const t = cliSpawn(['tail', g.dir, '-n', '1', '--follow', '--interval', '20']);
      await waitFor(() => lines(t.stdout()).length === 1, 'the last line');
      expect(cli(['append', g.dir, '--key', g.keyPath, '--kind', 'live', '--payload', '1']).code).toBe(0);
      await waitFor(() => lines(t.stdout()).length === 2, 'the appended line');
      t.child.kill('SIGTERM');
      const r = await t.done;
      expect([r.code, r.signal, r.stderr]).toEqual([0, null, '']);
      expect(seqs(r.stdout)).toEqual([2, 3]);
    } finally {
      g.cleanup();
    }
  });
});
