// spec §18.9: collector verify checks the witness state too: the cosigned note verifies under the
// source's checkpoint key and its root is the root of the stored events at its size; a
// recorded fork fails the audit. Both backends, with a real ledger and the real witness.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createCollectorServer } from '../../src/collector/server.js';
import { verifyCollectorStore } from '../../src/collector/verify-store.js';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { signCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import { verifierKeyString } from '../../src/merkle/verifier-key.js';
import { jsonlLines, ledgerDir, openNew, type Fixture } from '../ledger/ledger-helpers.js';
import { BACKENDS, keyEntry, newDatabase, removeTempDirs } from './support.js';

const fixtures: Fixture[] = [];
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()));
afterAll(removeTempDirs);

function addCheckpointBody(oldSize: number, proof: Buffer[], note: string): string {
  return `old ${oldSize}\n${proof.map((p) => p.toString('base64') + '\n').join('')}\n${note}`;
}

describe.each(BACKENDS)('collector verify with a cosigned checkpoint on %s', (backend) => {
  it('holds for the cosigned state, fails for an edited witness state and once a checkpoint fork is recorded', async () => {
    const collector = await createCollectorServer({ db: await newDatabase(backend), rateLimit: false, witnessKey: generateSigningKey({ name: 'witness.example/w' }) });
    expect(collector.witness).toBe(true);
    const f = ledgerDir();
    fixtures.push(f);
    const hostKey = generateSigningKey({ name: 'host-v-log' });
    const ledger = await openNew(f.dir, { signer: hostKey, origin: 'example.com/host-v' });
    try {
      const { token } = await collector.sources.add({
        name: 'host-v', eventKeys: [keyEntry(hostKey)], checkpointKeys: [verifierKeyString(hostKey.name, hostKey.publicKey)], origin: 'example.com/host-v',
      });
      await ledger.appendBatch(Array.from({ length: 30 }, (_, i) => ({ kind: 'k', payload: { i } })));
      const ship = await collector.inject({
        method: 'POST', url: '/v1/sources/host-v/events',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
        payload: jsonlLines(f.dir).map((l) => l + '\n').join(''),
      });
      expect(ship.statusCode).toBe(200);
      const cosign = await collector.inject({ method: 'POST', url: '/add-checkpoint', payload: addCheckpointBody(0, [], await ledger.checkpoint()) });
      expect(cosign.statusCode, cosign.body).toBe(200);
      let report = await verifyCollectorStore(collector.database);
      expect(report).toMatchObject({ ok: true, problems: [], sources: [{ source: 'host-v', events: 30, cosignedSize: 30, forks: 0 }] });

      // Someone edits the stored state: the note no longer says what the row says.
      const db = collector.database.db;
      const saved = await db.selectFrom('witness_state').select('root').executeTakeFirstOrThrow();
      await db.updateTable('witness_state').set({ root: 'ab'.repeat(32) }).execute();
      expect((await verifyCollectorStore(collector.database)).problems.map((p) => p.code)).toEqual(['INVALID_CHECKPOINT', 'ROOT_MISMATCH']);
      await db.updateTable('witness_state').set({ root: saved.root }).execute();

      // A rewritten history at the cosigned size: the witness keeps the evidence; verify fails.
      const other = signCheckpoint({ origin: 'example.com/host-v', size: 30, rootHash: Buffer.alloc(32, 7) }, [hostKey]);
      const refused = await collector.inject({ method: 'POST', url: '/add-checkpoint', payload: addCheckpointBody(30, [], other) });
      expect(refused.statusCode).toBe(409);
      report = await verifyCollectorStore(collector.database);
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([]);
      expect(report.forks).toEqual([expect.objectContaining({ source: 'host-v', kind: 'checkpoint', seq: 30 })]);
    } finally {
      await ledger.close();
      await collector.close();
    }
  });
});
