// verify's merkle_nodes check (I7, spec §10, §14.6) reads ledger.db's leaves and nodes by ranges
// of rows, not one statement per row. Every finding must come out as it did row by row, also for
// rows past the first range of each level and where a range ends inside the snapshot.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { leafHash } from '../../src/crypto/domain.js';
import { ledgerDir, openNew, withSqlite, type Fixture } from './ledger-helpers.js';

// More than two ranges of leaves (1,024 each) and of level-1 nodes, and not a power of two.
const EVENTS = 2600;
const fixtures: Fixture[] = [];
afterEach(() => fixtures.splice(1).forEach((f) => f.cleanup()));
afterAll(() => fixtures.splice(0).forEach((f) => f.cleanup()));

let template: string;
beforeAll(async () => {
  const f = ledgerDir();
  fixtures.push(f);
  template = f.dir;
  const ledger = await openNew(template);
  for (let i = 0; i < EVENTS; i += 500) await ledger.appendBatch(Array.from({ length: 500 }, (_, j) => ({ kind: 'k', payload: i + j })).slice(0, EVENTS - i));
  await ledger.close();
});

/** A copy of the honest ledger to tamper with. */
function copy(): string {
  const f = ledgerDir();
  fixtures.push(f);
  for (const name of fs.readdirSync(template)) fs.cpSync(path.join(template, name), path.join(f.dir, name), { recursive: true });
  return f.dir;
}

const nodeFindings = async (dir: string) =>
  (await verifyLedger({ dir }, { workers: 0 })).problems.filter((p) => p.code === 'MERKLE_NODE_MISMATCH').map((p) => p.message);

describe('the stored-tree check reads by ranges and finds what it found row by row', () => {
  it('an honest ledger: no finding', async () => {
    const report = await verifyLedger({ dir: copy() }, { workers: 0 });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('a poisoned node in a later range of its level is named, and so is one of a high level', async () => {
    const dir = copy();
    withSqlite(dir, (db) => {
      const set = db.prepare('UPDATE merkle_nodes SET hash = ? WHERE level = ? AND idx = ?');
      expect(set.run(leafHash('forged'), 1, 1200).changes).toBe(1);
      expect(set.run(leafHash('forged'), 11, 0).changes).toBe(1);
    });
    const found = await nodeFindings(dir);
    expect(found).toHaveLength(2);
    expect(found[0]).toContain('(11, 0)');
    expect(found[1]).toContain('(1, 1200)');
  });

  it('a missing node past the first range is named; the last complete node of a level is checked', async () => {
    const dir = copy();
    const lastLevel1 = EVENTS / 2 - 1;
    withSqlite(dir, (db) => {
      const del = db.prepare('DELETE FROM merkle_nodes WHERE level = ? AND idx = ?');
      expect(del.run(1, 1100).changes).toBe(1);
      expect(del.run(1, lastLevel1).changes).toBe(1);
    });
    const found = await nodeFindings(dir);
    expect(found).toHaveLength(2);
    expect(found[0]).toContain('lacks Merkle node (1, 1100)');
    expect(found[1]).toContain(`lacks Merkle node (1, ${lastLevel1})`);
  });

  it('an extra row is counted', async () => {
    const dir = copy();
    withSqlite(dir, (db) => db.prepare('INSERT INTO merkle_nodes (level, idx, hash) VALUES (1, 5000, ?)').run(leafHash('extra')));
    const found = await nodeFindings(dir);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/holds \d+ Merkle nodes.*1 rows are not nodes of this tree/);
  });

  it('an edited or missing leaf row in a later range ends the node check there (parity names the row)', async () => {
    for (const tamper of ['UPDATE events SET hash = ? WHERE seq = 2100', 'DELETE FROM events WHERE seq = 2100 AND ? IS NOT NULL']) {
      const dir = copy();
      withSqlite(dir, (db) => {
        // A node above the leaf and one above a later leaf, poisoned: neither may be reported.
        db.prepare(tamper).run('0'.repeat(64));
        db.prepare('UPDATE merkle_nodes SET hash = ? WHERE level = 1 AND idx IN (1050, 1250)').run(leafHash('forged'));
      });
      const report = await verifyLedger({ dir }, { workers: 0 });
      expect(report.problems.filter((p) => p.code === 'MERKLE_NODE_MISMATCH')).toEqual([]);
      expect(report.parity.inParity).toBe(false);
      expect(report.ok).toBe(false);
    }
  });

  it('a poisoned node before an edited leaf is still named', async () => {
    const dir = copy();
    withSqlite(dir, (db) => {
      db.prepare('UPDATE events SET hash = ? WHERE seq = 2100').run('0'.repeat(64));
      db.prepare('UPDATE merkle_nodes SET hash = ? WHERE level = 2 AND idx = 520').run(leafHash('forged'));
    });
    const found = await nodeFindings(dir);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('(2, 520)');
  });
});
