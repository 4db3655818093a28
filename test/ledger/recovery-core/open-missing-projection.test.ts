// spec §14.3.1: Ledger.open on a folder whose ledger.db is gone builds it by the bulk load (a side
// file under lock.db, published whole), then reconciles from its watermark. The result, the report
// and every refusal are those of the heal in place from an empty ledger.db.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../../src/ledger/ledger.js';
import { dumpLedgerDb as dump } from '../ledger-helpers.js';
import { appendLines, appendRaw, dropProjection, eventAfter, events, folderWith, lineOf, lines, rejection, removeFolders, tornFiles, type Folder } from './folder.js';

afterEach(() => removeFolders());

/** A copy of `f` whose ledger.db is an empty file: open heals it in place, as before the bulk path. */
function inPlaceCopy(f: Folder): Folder {
  const dir = `${f.dir}-in-place`;
  fs.cpSync(f.dir, dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'ledger.db'), '');
  return { ...f, dir, jsonl: path.join(dir, 'events.jsonl'), sqlite: path.join(dir, 'ledger.db'), torn: path.join(dir, 'torn') };
}

const open = (f: Folder) => Ledger.open({ dir: f.dir, keyring: f.keyring });

describe('Ledger.open without ledger.db: the bulk load, then reconcile (spec §14.3.1)', () => {
  it('builds the same projection as the heal in place, through the side file, and reports it as reconcile', async () => {
    const f = await folderWith(300);
    dropProjection(f);
    // Debris of a load killed earlier: only the side-file path (under lock.db) removes it.
    const stale = `${f.sqlite}.replay-999999`;
    fs.writeFileSync(stale, 'debris');
    fs.writeFileSync(`${stale}-journal`, 'debris');
    const copy = inPlaceCopy(f);
    fs.rmSync(`${copy.sqlite}.replay-999999`);
    fs.rmSync(`${copy.sqlite}.replay-999999-journal`);
    try {
      const ledger = await open(f);
      const expected = await open(copy);
      expect(ledger.lastReconcile).toEqual(expected.lastReconcile);
      expect(ledger.lastReconcile).toMatchObject({ before: { seq: -1, offset: 0 }, after: { seq: 299 }, replayed: 300 });
      await ledger.close();
      await expected.close();
      expect(fs.readdirSync(f.dir).filter((n) => n.includes('.replay-'))).toEqual([]);
      const got = dump(f.sqlite);
      expect(got.events).toHaveLength(300);
      expect(got).toEqual(dump(copy.sqlite));
      // And it is a working ledger: the next append continues the chain and the tree.
      const again = await open(f);
      expect(again.lastReconcile.replayed).toBe(0);
      expect((await again.append({ kind: 'k', id: 'after', payload: {} })).seq).toBe(300);
      expect(again.proveInclusion(150).treeSize).toBe(301);
      await again.close();
    } finally {
      fs.rmSync(copy.dir, { recursive: true, force: true });
    }
  });

  it('moves a torn last line aside after the load, as the heal in place does', async () => {
    const f = await folderWith(50);
    dropProjection(f);
    const at = appendRaw(f, '{"v":1,"seq":50,"id":"torn');
    const ledger = await open(f);
    try {
      expect(ledger.lastReconcile).toMatchObject({ before: { seq: -1 }, after: { seq: 49 }, replayed: 50, tornTail: { offset: at } });
      expect(fs.statSync(f.jsonl).size).toBe(at);
      expect(tornFiles(f)).toHaveLength(1);
    } finally {
      await ledger.close();
    }
  });

  it('completes a final event that lacks only its newline, as the heal in place does', async () => {
    const f = await folderWith(30);
    const evs = events(f);
    const last = lineOf(eventAfter(evs[29]));
    appendRaw(f, last);
    dropProjection(f);
    const ledger = await open(f);
    try {
      expect(ledger.lastReconcile).toMatchObject({ before: { seq: -1 }, after: { seq: 30 }, replayed: 31 });
      expect(ledger.lastReconcile.tornTail).toBeUndefined();
      expect(fs.readFileSync(f.jsonl, 'utf8').endsWith(`${last}\n`)).toBe(true);
    } finally {
      await ledger.close();
    }
  });

  it('drops the load when ledger.db appears before it is published, and heals that file in place', async () => {
    const f = await folderWith(120);
    // What another opener made meanwhile (one that created ledger.db before it waited for lock.db):
    // a ledger.db holding the first 120 events.
    const early = `${f.dir}-early.db`;
    fs.copyFileSync(f.sqlite, early);
    let prev = events(f)[119];
    const more: string[] = [];
    for (let i = 0; i < 80; i++) more.push(lineOf((prev = eventAfter(prev))));
    appendLines(f, more);
    dropProjection(f);
    const copy = inPlaceCopy(f);
    fs.copyFileSync(early, copy.sqlite);
    let sideFilesSeen: string[] | undefined;
    try {
      const ledger = await Ledger.open({
        dir: f.dir,
        keyring: f.keyring,
        crashHook: (point) => {
          // The first reconcile runs on the loaded side file, before it is published.
          if (point !== 'reconcile.locked' || sideFilesSeen) return;
          sideFilesSeen = fs.readdirSync(f.dir).filter((n) => n.startsWith('ledger.db'));
          fs.copyFileSync(early, f.sqlite);
        },
      });
      const expected = await open(copy);
      expect(sideFilesSeen).toContain(`ledger.db.replay-${process.pid}`);
      expect(sideFilesSeen).not.toContain('ledger.db');
      // The report is the heal in place's from the file that appeared: 80 rows past its watermark.
      expect(ledger.lastReconcile).toEqual(expected.lastReconcile);
      expect(ledger.lastReconcile).toMatchObject({ before: { seq: 119 }, after: { seq: 199 }, replayed: 80 });
      await ledger.close();
      await expected.close();
      expect(fs.readdirSync(f.dir).filter((n) => n.includes('.replay-'))).toEqual([]);
      expect(dump(f.sqlite)).toEqual(dump(copy.sqlite));
    } finally {
      fs.rmSync(copy.dir, { recursive: true, force: true });
      fs.rmSync(early, { force: true });
    }
  });

  it('refuses damage before the end with the heal in place\'s error, and changes nothing: ledger.db stays missing', async () => {
    const f = await folderWith(40);
    const evs = events(f);
    // Line 20 altered (its seal no longer matches), valid lines after it: damage, not a torn tail.
    const ls = lines(f);
    ls[20] = ls[20]!.replace('"i":20', '"i":21');
    fs.writeFileSync(f.jsonl, ls.map((l) => l + '\n').join(''));
    appendLines(f, [lineOf(eventAfter(evs[39]))]);
    dropProjection(f);
    const copy = inPlaceCopy(f);
    try {
      const bulk = await rejection(open(f));
      const inPlace = await rejection(open(copy));
      expect(bulk.code).toBe(inPlace.code);
      expect(bulk.message).toBe(inPlace.message.replace(copy.dir, f.dir));
      expect(bulk.code).toMatch(/CORRUPT|SEAL/);
      // The load is reconciled before it is published: a refusal publishes nothing.
      expect(fs.readdirSync(f.dir).filter((n) => n.startsWith('ledger.db'))).toEqual([]);
      // Nothing of events.jsonl was moved or cut.
      expect(fs.readFileSync(f.jsonl, 'utf8').split('\n')).toHaveLength(42);
    } finally {
      fs.rmSync(copy.dir, { recursive: true, force: true });
    }
  });
});
