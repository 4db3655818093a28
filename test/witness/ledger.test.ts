// The witness with checkpoints and proofs from a real ledger (spec §12, §19): an honest history
// is cosigned step by step; a forked copy of the same ledger, signed with the same key, is
// refused and the evidence kept, whether the fork is caught by root or by the shipped events.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKey } from '../../src/crypto/signing-key.js';
import { parseEventLine } from '../../src/format/event-line.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { cosignatureVerifierOf, verifyCosignatures } from '../../src/merkle/cosignature.js';
import { verifyCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import { verifierKeyString } from '../../src/merkle/verifier-key.js';
import { Witness } from '../../src/witness/add-checkpoint.js';
import { jsonlLines, ledgerDir, openNew, type Fixture } from '../ledger/ledger-helpers.js';
import { body } from './helpers.js';
import { MemoryWitnessStore } from './memory-store.js';

const ORIGIN = 'example.com/host-a';
const fixtures: Fixture[] = [];
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()));

function newDir(): string {
  const f = ledgerDir();
  fixtures.push(f);
  return f.dir;
}

async function append(ledger: Ledger, n: number, tag: string): Promise<void> {
  await ledger.appendBatch(Array.from({ length: n }, (_, i) => ({ kind: 'k', payload: { tag, i } })));
}

function consistency(ledger: Ledger, from: number, to: number): Buffer[] {
  return ledger.proveConsistency(from, to).proof.map((h) => Buffer.from(h, 'hex'));
}

/** Leaf hashes re-derived from the events.jsonl bytes, as the collector derives them. */
function shippedLeaves(dir: string): Buffer[] {
  return jsonlLines(dir).map((line) => parseEventLine(line).hash);
}

function witnessFor(key: SigningKey) {
  const store = new MemoryWitnessStore();
  store.addLog({ source: 'host-a', origin: ORIGIN, verifierKeys: [verifierKeyString(key.name, key.publicKey)] });
  const witnessKey = generateSigningKey({ name: 'witness.example/w1' });
  const witness = new Witness({ store, signers: [witnessKey], now: () => 1_760_000_000 });
  return { store, witness, witnessKey };
}

/** Two ledgers with one history up to `common` events, then different events: a fork. */
async function forkedPair(key: SigningKey, common: number) {
  const dirA = newDir();
  const a = await openNew(dirA, { signer: key, origin: ORIGIN });
  await append(a, common, 'common');
  await a.close();
  const dirB = newDir();
  fs.mkdirSync(path.dirname(dirB), { recursive: true });
  fs.cpSync(dirA, dirB, { recursive: true });
  return {
    dirA,
    dirB,
    a: await Ledger.open({ dir: dirA, signer: key }),
    b: await Ledger.open({ dir: dirB, signer: key }),
  };
}

describe('witness with a real ledger', () => {
  it('cosigns ledger.checkpoint() notes along ledger.proveConsistency proofs', async () => {
    const key = generateSigningKey({ name: 'host-a-log' });
    const { store, witness, witnessKey } = witnessFor(key);
    const dir = newDir();
    const ledger = await openNew(dir, { signer: key, origin: ORIGIN });
    await append(ledger, 10, 'a');
    const note10 = await ledger.checkpoint();
    store.events.set('host-a', shippedLeaves(dir));
    expect(await witness.addCheckpoint(body(0, [], note10))).toMatchObject({ status: 200 });
    let last = 10;
    for (const n of [1, 5, 17]) {
      await append(ledger, n, 'b');
      const note = await ledger.checkpoint();
      const size = last + n;
      store.events.set('host-a', shippedLeaves(dir));
      const out = await witness.addCheckpoint(body(last, consistency(ledger, last, size), note));
      expect(out).toMatchObject({ status: 200 });
      if (out.status !== 200) return;
      const cosigned = note + out.cosignatures;
      expect(verifyCheckpoint(cosigned, [verifierKeyString(key.name, key.publicKey)], { origin: ORIGIN }).size).toBe(size);
      expect(verifyCosignatures(cosigned, [cosignatureVerifierOf(witnessKey)])).toHaveLength(1);
      expect(out.checkpoint.rootHash.toString('hex')).toBe(ledger.rootHash());
      last = size;
    }
    expect(store.state.get('host-a')!.size).toBe(33);
    expect(store.forks).toHaveLength(0);
    await ledger.close();
  });

  it('refuses a forked copy of the ledger at the cosigned size, keeping the evidence', async () => {
    const key = generateSigningKey({ name: 'host-a-log' });
    const { store, witness } = witnessFor(key);
    const { a, b } = await forkedPair(key, 8);
    await append(a, 4, 'honest');
    await append(b, 4, 'rewritten');
    const noteA = await a.checkpoint();
    const noteB = await b.checkpoint();
    expect(noteA).not.toBe(noteB);
    expect(await witness.addCheckpoint(body(0, [], noteA))).toMatchObject({ status: 200 });
    const out = await witness.addCheckpoint(body(12, [], noteB));
    expect(out).toMatchObject({ status: 409, knownSize: 12, fork: { kind: 'root-conflict', size: 12 } });
    expect(store.forks.map((f) => f.evidence.submittedNote)).toEqual([noteB]);
    expect(store.forks[0]!.evidence.cosignedNote!.startsWith(noteA.slice(0, noteA.indexOf('\n\n')))).toBe(true);
    // Growing the fork does not help: its own proof starts from its own root.
    await append(b, 3, 'rewritten');
    const noteB15 = await b.checkpoint();
    expect(await witness.addCheckpoint(body(12, consistency(b, 12, 15), noteB15))).toMatchObject({ status: 422 });
    expect(store.state.get('host-a')!.rootHash.toString('hex')).toBe(a.rootHash(12));
    await a.close();
    await b.close();
  });

  it('refuses a first checkpoint that contradicts the events the collector holds', async () => {
    const key = generateSigningKey({ name: 'host-a-log' });
    const { store, witness } = witnessFor(key);
    const { dirA, a, b } = await forkedPair(key, 5);
    await append(a, 5, 'shipped');
    await append(b, 5, 'rewritten after shipping');
    store.events.set('host-a', shippedLeaves(dirA));
    const noteB = await b.checkpoint();
    const out = await witness.addCheckpoint(body(0, [], noteB));
    expect(out).toMatchObject({ status: 409, knownSize: 0, fork: { kind: 'events-mismatch', size: 10 } });
    expect(store.state.size).toBe(0);
    expect(await witness.addCheckpoint(body(0, [], await a.checkpoint()))).toMatchObject({ status: 200 });
    await a.close();
    await b.close();
  });
});
