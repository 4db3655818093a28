// spec §11, §12 on a real ledger: proofs from stored nodes, checkpoints that survive a rebuild,
// refusal to sign an inconsistent checkpoint, and key rotation end to end.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { onTreeNodeRead } from '../../src/testing.js';
import { replayJsonlIntoSqlite } from '../../src/ledger/replay.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { verifyInclusion, verifyConsistency } from '../../src/merkle/verify.js';
import { rootFromLeaves } from '../../src/merkle/root.js';
import { verifyCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import { verifierKeyString } from '../../src/merkle/verifier-key.js';
import { jsonlLines, ledgerDir, openNew, withSqlite, type Fixture } from './ledger-helpers.js';

const fixtures: Fixture[] = [];
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()));
const hex = (s: string) => Buffer.from(s, 'hex');

describe('verifiable log on a ledger', () => {
  it('inclusion and consistency proofs from stored nodes verify against roots of all leaves', async () => {
    const f = ledgerDir();
    fixtures.push(f);
    const ledger = await openNew(f.dir);
    for (let i = 0; i < 5; i++) await ledger.appendBatch(Array.from({ length: 7 + i }, (_, j) => ({ kind: 'k', payload: [i, j] })));
    const leaves = jsonlLines(f.dir).map((l) => hex(JSON.parse(l).hash));
    const n = leaves.length;
    for (const size of [1, 2, 3, 8, 13, n]) {
      expect(ledger.rootHash(size)).toBe(rootFromLeaves(leaves.slice(0, size)).toString('hex'));
      for (const seq of [0, size - 1, Math.floor(size / 2)]) {
        const p = ledger.proveInclusion(seq, size);
        expect(p.leafHash).toBe(leaves[seq]!.toString('hex'));
        verifyInclusion(hex(p.leafHash), p.index, p.treeSize, p.proof.map(hex), hex(p.rootHash));
      }
      for (const from of [0, 1, Math.floor(size / 2), size]) {
        const c = ledger.proveConsistency(from, size);
        verifyConsistency(c.fromSize, c.toSize, c.proof.map(hex), hex(c.fromRoot), hex(c.toRoot));
      }
    }
    expect(() => ledger.proveInclusion(n)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => ledger.proveConsistency(3, n + 1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    await ledger.close();
  });

  it('a proof reads O(log n) stored nodes (spec §11.2)', async () => {
    const f = ledgerDir();
    fixtures.push(f);
    const ledger = await openNew(f.dir);
    for (let i = 0; i < 20; i++) await ledger.appendBatch(Array.from({ length: 1000 }, (_, j) => ({ kind: 'k', payload: i * 1000 + j })));
    const n = ledger.headInfo().size;
    let reads = 0;
    onTreeNodeRead(ledger, () => reads++);
    const bound = 3 * Math.ceil(Math.log2(n)) + 2;
    for (const seq of [0, 1, 4095, 12345, n - 1]) {
      reads = 0;
      const p = ledger.proveInclusion(seq);
      expect(reads).toBeLessThanOrEqual(bound);
      verifyInclusion(hex(p.leafHash), p.index, p.treeSize, p.proof.map(hex), hex(p.rootHash));
    }
    for (const from of [1, 777, 16384, n - 1]) {
      reads = 0;
      const c = ledger.proveConsistency(from);
      expect(reads).toBeLessThanOrEqual(bound);
      verifyConsistency(c.fromSize, c.toSize, c.proof.map(hex), hex(c.fromRoot), hex(c.toRoot));
    }
    await ledger.close();
  });

  it('checkpoints verify with the verifier key, survive replay --rebuild, and are checked by verify', async () => {
    const f = ledgerDir();
    fixtures.push(f);
    const key = generateSigningKey({ name: 'log-key' });
    const ledger = await openNew(f.dir, { signer: key, origin: 'example.com/audit' });
    await ledger.appendBatch(Array.from({ length: 10 }, (_, i) => ({ kind: 'k', payload: i })));
    const note10 = await ledger.checkpoint();
    await ledger.append({ kind: 'k', payload: 'more' });
    const note11 = await ledger.checkpoint();
    const v = verifyCheckpoint(note11, [verifierKeyString(key.name, key.publicKey)], { origin: 'example.com/audit' });
    expect(v.size).toBe(11);
    expect(v.rootHash.toString('hex')).toBe(ledger.rootHash());
    expect(verifyCheckpoint(note10, [verifierKeyString(key.name, key.publicKey)]).size).toBe(10);
    await ledger.close();
    for (const file of ['ledger.db', 'ledger.db-wal', 'ledger.db-shm']) fs.rmSync(path.join(f.dir, file), { force: true });
    await replayJsonlIntoSqlite({ dir: f.dir });
    const reopened = await Ledger.open({ dir: f.dir });
    expect(reopened.checkpoints().map((c) => c.size)).toEqual([10, 11]);
    await reopened.close();
    const report = await verifyLedger({ dir: f.dir });
    expect(report.checkpoints).toEqual({ checked: 2, problems: 0 });
    expect(report.ok).toBe(true);
  });

  // Found by the simulated-crash suite: a checkpoint of the empty tree (signed right after
  // create) kept verify from checking any later checkpoint; each was then reported as covering
  // more events than events.jsonl holds, and the ledger never verified again.
  it('verify checks a checkpoint of the empty tree and every later one', async () => {
    const f = ledgerDir();
    fixtures.push(f);
    const key = generateSigningKey({ name: 'log-key' });
    const ledger = await openNew(f.dir, { signer: key });
    await ledger.checkpoint();
    await ledger.appendBatch(Array.from({ length: 3 }, (_, i) => ({ kind: 'k', payload: i })));
    await ledger.checkpoint();
    await ledger.append({ kind: 'k', payload: 3 });
    await ledger.checkpoint();
    await ledger.close();
    for (const workers of [0, 2]) {
      const report = await verifyLedger({ dir: f.dir }, { workers, workerUrl: new URL('../../dist/audit/verify-worker.js', import.meta.url), batchBytes: 256 });
      expect(report.problems, `workers ${workers}`).toEqual([]);
      expect(report.checkpoints).toEqual({ checked: 3, problems: 0 });
      expect(report.ok).toBe(true);
    }
    // Each one is checked against the tree at its size, not passed over: a wrong root is named.
    withSqlite(f.dir, (db) => db.prepare('UPDATE checkpoints SET root = ? WHERE size = 3').run('ab'.repeat(32)));
    fs.rmSync(path.join(f.dir, 'checkpoints.jsonl'));
    const forged = await verifyLedger({ dir: f.dir });
    expect(forged.checkpoints).toEqual({ checked: 3, problems: 1 });
    expect(forged.problems.map((p) => p.message).join('\n')).not.toContain('covers more events');
  });

  it('refuses to sign a checkpoint the tree no longer extends', async () => {
    const f = ledgerDir();
    fixtures.push(f);
    const key = generateSigningKey({ name: 'log-key' });
    const ledger = await openNew(f.dir, { signer: key });
    await ledger.appendBatch(Array.from({ length: 4 }, (_, i) => ({ kind: 'k', payload: i })));
    await ledger.checkpoint();
    await ledger.close();
    withSqlite(f.dir, (db) => db.prepare("UPDATE checkpoints SET root = ? WHERE size = 4").run('ab'.repeat(32)));
    const again = await Ledger.open({ dir: f.dir, signer: key });
    await again.append({ kind: 'k', payload: 5 });
    await expect(again.checkpoint()).rejects.toMatchObject({ code: 'CHECKPOINT_INCONSISTENT' });
    await again.close();
    const report = await verifyLedger({ dir: f.dir });
    expect(report.ok).toBe(false);
  });

  it('key rotation: retired key keeps its window, new key continues, retired key refused on new events', async () => {
    const f = ledgerDir();
    fixtures.push(f);
    const k1 = generateSigningKey({ name: 'k1' });
    const k2 = generateSigningKey({ name: 'k2' });
    let ledger = await openNew(f.dir, { signer: k1 });
    await ledger.appendBatch(Array.from({ length: 5 }, (_, i) => ({ kind: 'k', payload: i })));
    await ledger.checkpoint();
    await ledger.close();
    const ring = Keyring.load(path.join(f.dir, 'keyring.json'));
    ring.retire(k1.kid, { seq: 5, at: new Date(Date.now() + 60_000).toISOString() });
    ring.add({ kid: k2.kid, name: k2.name, publicKey: k2.publicKey, validFromSeq: 5 });
    ring.save(path.join(f.dir, 'keyring.json'));
    ledger = await Ledger.open({ dir: f.dir, signer: k2 });
    await ledger.appendBatch(Array.from({ length: 3 }, (_, i) => ({ kind: 'k', payload: i })));
    await expect(ledger.append({ kind: 'k', payload: 'old key' }, { signer: k1 })).rejects.toMatchObject({ code: 'KEY_NOT_VALID' });
    await ledger.checkpoint();
    await ledger.close();
    const report = await verifyLedger({ dir: f.dir });
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, signed: 8, checkpoints: { checked: 2, problems: 0 } });
  });
});
