// spec §12.6: the root a checkpoint signs is derived from events.jsonl's bytes, extending the
// compact range stored beside the last checkpoint this key signed. The attack: one UPDATE of an
// interior merkle_nodes row to a subtree hash over a forged event, then `checkpoint --key`. Before
// §12.6 the honest key signed the forged root (verify was 0 before signing).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { leafHash, nodeHash } from '../../src/crypto/domain.js';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { checkpointRecordsNewestFirst, readCheckpointRecords } from '../../src/ledger/checkpoint-log.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { parseCheckpoint } from '../../src/merkle/checkpoint.js';
import { rootFromLeaves } from '../../src/merkle/root.js';
import { verifyCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import { verifierKeyString } from '../../src/merkle/verifier-key.js';
import { verifyInclusion } from '../../src/merkle/verify.js';
import { countingIO, jsonlLines, ledgerDir, openNew, withSqlite, type Fixture } from './ledger-helpers.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { parseNote } from '../../src/merkle/signed-note.js';

const fixtures: Fixture[] = [];
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()));
const hex = (s: string) => Buffer.from(s, 'hex');

function fixture(): string {
  const f = ledgerDir();
  fixtures.push(f);
  return f.dir;
}

const leavesOf = (dir: string): Buffer[] => jsonlLines(dir).map((l) => hex(JSON.parse(l).hash));
const forgedLeaf = leafHash('{"forged":true}');

/** Overwrite interior node (level, idx) with the root of its leaves where the last is forged. */
function poison(dir: string, level: number, idx: number): Buffer {
  const leaves = leavesOf(dir).slice(idx << level, (idx + 1) << level);
  leaves[leaves.length - 1] = forgedLeaf;
  const forged = rootFromLeaves(leaves);
  const changed = withSqlite(dir, (db) => db.prepare('UPDATE merkle_nodes SET hash = ? WHERE level = ? AND idx = ?').run(forged, level, idx).changes);
  expect(changed).toBe(1);
  return forged;
}

function checkpointsFile(dir: string): string {
  return path.join(dir, 'checkpoints.jsonl');
}

async function signedLedger(dir: string, events: number) {
  const key = generateSigningKey({ name: 'log-key' });
  const ledger = await openNew(dir, { signer: key, origin: 'example.com/audit' });
  if (events > 0) await ledger.appendBatch(Array.from({ length: events }, (_, i) => ({ kind: 'k', payload: i })));
  return { key, ledger, vkey: verifierKeyString(key.name, key.publicKey) };
}

describe('signed roots come from events.jsonl, never from merkle_nodes (spec §12.6)', () => {
  it('attack, first checkpoint: a poisoned level-2 node of the frontier is refused, nothing is signed', async () => {
    const dir = fixture();
    const { key, ledger } = await signedLedger(dir, 6); // frontier (2,0), (1,2)
    await ledger.close();
    poison(dir, 2, 0);
    const reopened = await Ledger.open({ dir, signer: key });
    try {
      await expect(reopened.checkpoint(key)).rejects.toMatchObject({ code: 'LEDGER_CORRUPT' });
    } finally {
      await reopened.close();
    }
    expect(fs.existsSync(checkpointsFile(dir))).toBe(false);
    expect(withSqlite(dir, (db) => db.prepare('SELECT count(*) AS n FROM checkpoints').get())).toEqual({ n: 0 });
  });

  it('attack after an honest checkpoint: a poisoned node the last checkpoint does not cover is refused', async () => {
    const dir = fixture();
    const { key, ledger, vkey } = await signedLedger(dir, 4);
    const honest = await ledger.checkpoint(key); // size 4: range (2,0), checked by the old rule
    await ledger.appendBatch(Array.from({ length: 8 }, (_, i) => ({ kind: 'k', payload: 100 + i })));
    await ledger.close(); // size 12: frontier (3,0), (2,2)
    const forged = poison(dir, 2, 2);
    expect((await verifyLedger({ dir }, { workers: 0 })).problems.map((p) => p.code)).toContain('MERKLE_NODE_MISMATCH');
    const reopened = await Ledger.open({ dir, signer: key });
    try {
      await expect(reopened.checkpoint(key)).rejects.toMatchObject({ code: 'LEDGER_CORRUPT' });
    } finally {
      await reopened.close();
    }
    // Nothing but the honest size-4 checkpoint was ever signed; no note names the forged tree.
    const notes = readCheckpointRecords(checkpointsFile(dir)).map((r) => r.note);
    expect(notes).toEqual([honest]);
    const leaves = leavesOf(dir);
    const forgedRoot = nodeHash(rootFromLeaves(leaves.slice(0, 8)), forged);
    for (const n of notes) expect(verifyCheckpoint(n, [vkey]).rootHash.equals(forgedRoot)).toBe(false);
  });

  it('on an honest ledger the next checkpoint extends the stored range and signs the root of the JSONL leaves', async () => {
    const dir = fixture();
    const { key, ledger, vkey } = await signedLedger(dir, 4);
    await ledger.checkpoint(key);
    await ledger.appendBatch(Array.from({ length: 8 }, (_, i) => ({ kind: 'k', payload: 100 + i })));
    const note = await ledger.checkpoint(key);
    await ledger.close();
    const v = verifyCheckpoint(note, [vkey]);
    expect(v.size).toBe(12);
    expect(v.rootHash.equals(rootFromLeaves(leavesOf(dir)))).toBe(true);
    const [last] = [...checkpointRecordsNewestFirst(checkpointsFile(dir))];
    expect(last!.range).toHaveLength(2);
    expect(last!.offset).toBe(fs.statSync(path.join(dir, 'events.jsonl')).size);
  });

  it('costs O(events since the last checkpoint): the next derivation reads only the new lines', async () => {
    const dir = fixture();
    const io = countingIO();
    const key = generateSigningKey({ name: 'log-key' });
    const ledger = await Ledger.open({ dir, create: true, signer: key, io });
    for (let i = 0; i < 4; i++) await ledger.appendBatch(Array.from({ length: 1000 }, (_, j) => ({ kind: 'k', payload: { i, j, pad: 'x'.repeat(100) } })));
    const before = fs.statSync(path.join(dir, 'events.jsonl')).size;
    io.bytesRead = 0;
    await ledger.checkpoint(key); // the first: events.jsonl once
    expect(io.bytesRead).toBeGreaterThanOrEqual(before);
    await ledger.appendBatch(Array.from({ length: 10 }, (_, j) => ({ kind: 'k', payload: j })));
    const added = fs.statSync(path.join(dir, 'events.jsonl')).size - before;
    io.bytesRead = 0;
    const note = await ledger.checkpoint(key);
    expect(io.bytesRead).toBeLessThanOrEqual(added + 4096);
    expect(parseCheckpoint(parseNote(note).text).size).toBe(4010);
    await ledger.close();
  });

  it('a stored range that does not hash to its signed root is refused; a record without one (older ledgers) is re-derived once', async () => {
    const dir = fixture();
    const { key, ledger, vkey } = await signedLedger(dir, 5);
    await ledger.checkpoint(key);
    await ledger.append({ kind: 'k', payload: 'x' });
    await ledger.close();
    const file = checkpointsFile(dir);
    const record = JSON.parse(fs.readFileSync(file, 'utf8'));
    const edited = { ...record, range: [record.range[0], forgedLeaf.toString('hex')] };
    fs.writeFileSync(file, JSON.stringify(edited) + '\n');
    let reopened = await Ledger.open({ dir, signer: key });
    await expect(reopened.checkpoint(key)).rejects.toMatchObject({ code: 'LEDGER_CORRUPT', message: expect.stringContaining('does not hash to its signed root') });
    await reopened.close();
    // Migration: a record from before §12.6 carries no range; the tree is re-hashed from line 0.
    const { range: _r, offset: _o, ...old } = record;
    fs.writeFileSync(file, JSON.stringify(old) + '\n');
    reopened = await Ledger.open({ dir, signer: key });
    const note = await reopened.checkpoint(key);
    await reopened.close();
    expect(verifyCheckpoint(note, [vkey]).rootHash.equals(rootFromLeaves(leavesOf(dir)))).toBe(true);
    expect([...checkpointRecordsNewestFirst(file)][0]!.range).toBeDefined();
  });

  it('a record signed by another key cannot anchor the derivation: its forged range is never trusted', async () => {
    const dir = fixture();
    const { key, ledger, vkey } = await signedLedger(dir, 6);
    await ledger.close();
    // An attacker appends a record with a note of its own key over a forged tree of size 4.
    const attacker = generateSigningKey({ name: 'log-key' });
    const forgedRange = [rootFromLeaves([...leavesOf(dir).slice(0, 3), forgedLeaf])];
    const { signCheckpoint } = await import('../../src/merkle/signed-checkpoint.js');
    const note = signCheckpoint({ origin: 'example.com/audit', size: 4, rootHash: forgedRange[0]! }, [attacker]);
    fs.writeFileSync(checkpointsFile(dir), JSON.stringify({ createdAt: new Date().toISOString(), note, offset: 0, range: forgedRange.map((h) => h.toString('hex')), root: forgedRange[0]!.toString('hex'), size: 4 }) + '\n');
    const reopened = await Ledger.open({ dir, signer: key });
    try {
      // It is not an anchor, but it is a checkpoint on record: the honest tree does not extend it.
      await expect(reopened.checkpoint(key)).rejects.toMatchObject({ code: 'CHECKPOINT_INCONSISTENT' });
    } finally {
      await reopened.close();
    }
    expect(readCheckpointRecords(checkpointsFile(dir))).toHaveLength(1);
    void vkey;
  });

  it('a proof served from a poisoned node fails at the client against an honest checkpoint, and verify names the node', async () => {
    const dir = fixture();
    const { key, ledger, vkey } = await signedLedger(dir, 12);
    const honest = verifyCheckpoint(await ledger.checkpoint(key), [vkey]);
    await ledger.close();
    poison(dir, 1, 0); // inside the tree: not on the frontier, so proofs of leaves 2 and 3 use it
    const reader = await Ledger.open({ dir, readOnly: true });
    try {
      const p = reader.proveInclusion(2, 12);
      expect(() => verifyInclusion(hex(p.leafHash), p.index, honest.size, p.proof.map(hex), honest.rootHash)).toThrow(
        expect.objectContaining({ code: 'ROOT_MISMATCH' }),
      );
      const q = reader.proveInclusion(5, 12); // does not touch (1,0)... but (2,0) is honest
      verifyInclusion(hex(q.leafHash), q.index, honest.size, q.proof.map(hex), honest.rootHash);
    } finally {
      await reader.close();
    }
    const report = await verifyLedger({ dir }, { workers: 0 });
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(expect.objectContaining({ code: 'MERKLE_NODE_MISMATCH', message: expect.stringContaining('(1, 0)') }));
  });
});
