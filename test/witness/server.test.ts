// The witness of a real collector server over TCP (fetch), fed by a real ledger: events shipped,
// checkpoints from ledger.checkpoint(), proofs from ledger.proveConsistency (spec §19).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createCollectorServer } from '../../src/collector/server.js';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { cosignatureVerifierOf, verifyCosignatures } from '../../src/merkle/cosignature.js';
import { signCheckpoint, verifyCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import { verifierKeyString } from '../../src/merkle/verifier-key.js';
import { BACKENDS, keyEntry, newDatabase, removeTempDirs } from '../collector/support.js';
import { jsonlLines, ledgerDir, openNew, type Fixture } from '../ledger/ledger-helpers.js';
import { body } from './helpers.js';

const fixtures: Fixture[] = [];
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()));
afterAll(removeTempDirs);

describe.each(BACKENDS)('witness over TCP on %s', (backend) => {
  it('ships a ledger, cosigns its checkpoints, refuses a rewritten one', async () => {
    const witnessKey = generateSigningKey({ name: 'witness.example/w1' });
    const collector = await createCollectorServer({ db: await newDatabase(backend), rateLimit: false, witnessKey });
    const f = ledgerDir();
    fixtures.push(f);
    const hostKey = generateSigningKey({ name: 'host-c-log' });
    const ledger = await openNew(f.dir, { signer: hostKey, origin: 'example.com/host-c' });
    try {
      const url = await collector.listen({ host: '127.0.0.1', port: 0 });
      const vkey = verifierKeyString(hostKey.name, hostKey.publicKey);
      const { token } = await collector.sources.add({
        name: 'host-c',
        eventKeys: [keyEntry(hostKey)],
        checkpointKeys: [vkey],
        origin: 'example.com/host-c',
        requireSignatures: true,
      });
      const ship = async (from: number) => {
        const lines = jsonlLines(f.dir).slice(from);
        const res = await fetch(`${url}/v1/sources/host-c/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${token}` },
          body: lines.map((l) => `${l}\n`).join(''),
        });
        expect(res.status).toBe(200);
      };
      // No content type at all: tlog-witness does not define one.
      const witness = (payload: Buffer) => fetch(`${url}/add-checkpoint`, { method: 'POST', body: payload });

      await ledger.appendBatch(Array.from({ length: 20 }, (_, i) => ({ kind: 'login', payload: { i } })));
      await ship(0);
      const first = await witness(body(0, [], await ledger.checkpoint()));
      expect(first.status).toBe(200);
      await ledger.appendBatch(Array.from({ length: 7 }, (_, i) => ({ kind: 'logout', payload: { i } })));
      await ship(20);
      const note27 = await ledger.checkpoint();
      const proof = ledger.proveConsistency(20, 27).proof.map((h) => Buffer.from(h, 'hex'));
      const second = await witness(body(20, proof, note27));
      expect(second.status).toBe(200);
      const lines = await second.text();

      const latest = await fetch(`${url}/v1/sources/host-c/checkpoint`);
      expect(latest.status).toBe(200);
      const cosigned = await latest.text();
      expect(cosigned).toBe(note27 + lines);
      expect(verifyCheckpoint(cosigned, [vkey], { origin: 'example.com/host-c' }).rootHash.toString('hex')).toBe(ledger.rootHash());
      expect(verifyCosignatures(cosigned, [cosignatureVerifierOf(witnessKey)])).toHaveLength(1);

      const stale = await witness(body(20, proof, note27));
      expect(stale.status).toBe(409);
      expect(stale.headers.get('content-type')).toBe('text/x.tlog.size');
      expect(await stale.text()).toBe('27\n');

      // The host signs another tree of the same size (a rewritten history): refused, counted.
      const rewritten = signCheckpoint({ origin: 'example.com/host-c', size: 27, rootHash: Buffer.alloc(32, 5) }, [hostKey]);
      expect((await witness(body(27, [], rewritten))).status).toBe(409);
      const summary = await fetch(`${url}/v1/sources/host-c`, { headers: { authorization: `Bearer ${token}` } });
      expect(await summary.json()).toMatchObject({ forks: 1, cosigned: { size: 27 } });
      expect((await (await fetch(`${url}/v1/sources/host-c/checkpoint`)).text())).toBe(cosigned);
    } finally {
      await ledger.close();
      await collector.close();
    }
  });
});
