// spec §19.4.4: roots from stored event lines, re-hashed once per process (events-root.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { verifierKeyString } from '../../src/merkle/verifier-key.js';
import { Witness } from '../../src/witness/add-checkpoint.js';
import { EventsRootCache, StoredEventsError } from '../../src/witness/events-root.js';
import { jsonlLines, ledgerDir, openNew, type Fixture } from '../ledger/ledger-helpers.js';
import { body } from './helpers.js';
import { MemoryWitnessStore } from './memory-store.js';

const ORIGIN = 'example.com/host-b';
const fixtures: Fixture[] = [];
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()));

async function ledgerWith(n: number) {
  const f = ledgerDir();
  fixtures.push(f);
  const key = generateSigningKey({ name: 'host-b-log' });
  const ledger = await openNew(f.dir, { signer: key, origin: ORIGIN });
  await ledger.appendBatch(Array.from({ length: n }, (_, i) => ({ kind: 'k', payload: { i } })));
  return { dir: f.dir, key, ledger };
}

describe('EventsRootCache', () => {
  it('matches the ledger root at every size, reading only new lines after a cosigned size', async () => {
    const { dir, ledger } = await ledgerWith(40);
    const lines = jsonlLines(dir);
    let read = 0;
    const cache = new EventsRootCache(async function* (_s, from, to) {
      for (let seq = from; seq < Math.min(to, lines.length); seq++) {
        read++;
        yield { seq, line: lines[seq]! };
      }
    });
    for (const size of [0, 1, 7, 16, 40]) {
      expect((await cache.root('s', size))!.root.toString('hex')).toBe(ledger.rootHash(size));
    }
    expect(await cache.root('s', 41)).toBeUndefined();
    const at16 = (await cache.root('s', 16))!;
    cache.remember('s', at16.range);
    read = 0;
    expect((await cache.root('s', 40))!.root.toString('hex')).toBe(ledger.rootHash(40));
    expect(read).toBe(24);
    // A smaller size than the remembered one starts over (never happens in the witness).
    read = 0;
    expect((await cache.root('s', 10))!.root.toString('hex')).toBe(ledger.rootHash(10));
    expect(read).toBe(10);
    await ledger.close();
  });

  it('throws on a damaged stored line or a store that skips a seq', async () => {
    const { dir, ledger } = await ledgerWith(5);
    const lines = jsonlLines(dir);
    const damaged = [...lines];
    damaged[3] = damaged[3]!.replace('"i":3', '"i":4');
    const cache = new EventsRootCache(async function* (_s, from, to) {
      for (let seq = from; seq < to; seq++) yield { seq, line: damaged[seq]! };
    });
    await expect(cache.root('s', 5)).rejects.toMatchObject({ code: 'SEAL_MISMATCH' });
    const skipping = new EventsRootCache(async function* () {
      yield { seq: 0, line: lines[0]! };
      yield { seq: 2, line: lines[2]! };
    });
    await expect(skipping.root('s', 3)).rejects.toBeInstanceOf(StoredEventsError);
    const notUtf8 = new EventsRootCache(async function* () {
      yield { seq: 0, line: Buffer.from([0xff, 0xfe]) };
    });
    await expect(notUtf8.root('s', 1)).rejects.toThrow();
    await ledger.close();
  });
});

describe('Witness with a store that serves event lines', () => {
  it('re-hashes each line once across successive checkpoints, and still catches a fork', async () => {
    const { dir, key, ledger } = await ledgerWith(10);
    const store = new MemoryWitnessStore({ withLines: true });
    store.addLog({ source: 'host-b', origin: ORIGIN, verifierKeys: [verifierKeyString(key.name, key.publicKey)] });
    const witness = new Witness({ store, signers: [generateSigningKey({ name: 'witness.example/w1' })] });
    store.lines.set('host-b', jsonlLines(dir));
    expect(await witness.addCheckpoint(body(0, [], await ledger.checkpoint()))).toMatchObject({ status: 200 });
    expect(store.linesRead).toBe(10);
    let last = 10;
    for (const n of [5, 20]) {
      await ledger.appendBatch(Array.from({ length: n }, (_, i) => ({ kind: 'k', payload: { more: i } })));
      store.lines.set('host-b', jsonlLines(dir));
      const proof = ledger.proveConsistency(last, last + n).proof.map((h) => Buffer.from(h, 'hex'));
      expect(await witness.addCheckpoint(body(last, proof, await ledger.checkpoint()))).toMatchObject({ status: 200 });
      last += n;
    }
    expect(store.linesRead).toBe(35);
    // The stored copy says something else than the log signs from here on: refused, evidence kept.
    await ledger.appendBatch([{ kind: 'k', payload: 'signed' }]);
    const shipped = jsonlLines(dir);
    const other = await ledgerWith(36);
    store.lines.set('host-b', [...shipped.slice(0, 35), jsonlLines(other.dir)[35]!]);
    const proof = ledger.proveConsistency(35, 36).proof.map((h) => Buffer.from(h, 'hex'));
    const out = await witness.addCheckpoint(body(35, proof, await ledger.checkpoint()));
    expect(out).toMatchObject({ status: 409, fork: { kind: 'events-mismatch', size: 36 } });
    await ledger.close();
    await other.ledger.close();
  });
});
