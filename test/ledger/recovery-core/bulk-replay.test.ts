// spec §14.3: replay from scratch is a bulk load (secondary indexes dropped, rows and Merkle
// nodes inserted, indexes rebuilt, one transaction). It must leave exactly what appending left,
// and a failure or a kill part-way must leave the empty projection it started from, indexes included.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { replayJsonlIntoSqlite } from '../../../src/ledger/replay.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import { DIST } from '../../../fuzz/lib/library.mjs';
import { assertDistBuilt } from '../../crash/dist-check.js';
import { dropProjection, events, folderWith, lineOf, lines, rejection, removeFolders, withDb, type Folder } from './folder.js';

afterEach(removeFolders);

/** Everything replay writes, and the schema of events' indexes. */
function dump(f: Folder) {
  return withDb(f, (db) => ({
    events: db.prepare('SELECT * FROM events ORDER BY seq').all(),
    nodes: db.prepare('SELECT level, idx, hex(hash) AS h FROM merkle_nodes ORDER BY level, idx').all(),
    watermark: db.prepare('SELECT * FROM watermark').all(),
    indexes: indexes(f),
  }));
}

function indexes(f: Folder): string[] {
  return withDb(f, (db) =>
    db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL ORDER BY name").all().map((r) => r.sql),
  );
}

const counts = (f: Folder) =>
  withDb(f, (db) => ({
    events: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events').get()!.n,
    nodes: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM merkle_nodes').get()!.n,
  }));

describe('replay from scratch as a bulk load (spec §14.3)', () => {
  it('leaves the same rows, Merkle nodes, watermark and indexes as appending did, and reports progress at the end', async () => {
    const f = await folderWith(300);
    const before = dump(f);
    expect(before.indexes).toHaveLength(3);
    dropProjection(f);
    const progress: number[] = [];
    const r = await replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring, onProgress: (done) => progress.push(done) });
    expect(r).toMatchObject({ scanned: 300, inserted: 300, fromSeq: -1, toSeq: 299, errors: [] });
    expect(dump(f)).toEqual(before);
    expect(progress).toEqual([fs.statSync(f.jsonl).size]);
    // The rebuilt indexes serve the documented filters.
    const ledger = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    try {
      expect([...ledger.events({ kind: 'k', fromSeq: 298 })].map((e) => e.seq)).toEqual([298, 299]);
      expect(ledger.eventById('ev-7')?.seq).toBe(7);
    } finally {
      await ledger.close();
    }
  });

  it('a bulk load that fails part-way leaves the empty projection with all its indexes', async () => {
    const f = await folderWith(40);
    const full = indexes(f);
    const ls = lines(f);
    const evs = events(f);
    ls[30] = lineOf({ ...evs[30]!, sig: evs[29]!.sig! });
    fs.writeFileSync(f.jsonl, ls.join('\n') + '\n');
    dropProjection(f);
    const e = await rejection(replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'INVALID_SIGNATURE', details: { seq: 30 } });
    expect(indexes(f)).toEqual(full);
    expect(counts(f)).toEqual({ events: 0, nodes: 0 });
  });

  it('a replay SIGKILLed inside the bulk load leaves the empty projection with all indexes, and the ledger opens', async () => {
    assertDistBuilt();
    const f = await folderWith(0);
    const full = indexes(f);
    const writer = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    const n = 25_000;
    for (let i = 0; i < n; i += 1000) await writer.appendBatch(Array.from({ length: 1000 }, (_, j) => ({ kind: 'k', payload: { i: i + j } })));
    await writer.close();
    dropProjection(f);
    // The child says when the first 20,000 rows are in (progress, no commit): the kill lands
    // inside the one transaction, after the indexes were dropped and before they are rebuilt.
    const script = `import { replayJsonlIntoSqlite } from ${JSON.stringify(path.join(DIST, 'index.js'))};
      await replayJsonlIntoSqlite({ dir: ${JSON.stringify(f.dir)} }, { onProgress: (done, total) => console.log(done < total ? 'loading' : 'end') });
      console.log('done');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('loading')) child.kill('SIGKILL');
    });
    const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(signal).toBe('SIGKILL');
    expect(out).not.toContain('done');
    expect(indexes(f)).toEqual(full);
    expect(counts(f)).toEqual({ events: 0, nodes: 0 });
    const ledger = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    try {
      expect(ledger.headInfo().size).toBe(n);
      expect([...ledger.events({ kind: 'k', fromSeq: n - 1 })]).toHaveLength(1);
    } finally {
      await ledger.close();
    }
  }, 120_000);
});
