// spec §19.4.2 across real processes: two `sealed-ledger collector --witness-key` processes on
// one database, racing add-checkpoint requests from one state. Exactly one is cosigned, on
// SQLite (the write lock) and on PostgreSQL (SELECT … FOR UPDATE).
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCollectorServer } from '../../src/collector/server.js';
import { generateSigningKey, writeSigningKeyFile } from '../../src/crypto/signing-key.js';
import { cosignatureVerifierOf, verifyCosignatures } from '../../src/merkle/cosignature.js';
import { rootFromLeaves } from '../../src/merkle/root.js';
import { signCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import { proof as naiveProof, sampleLeaves } from '../merkle/naive-rfc6962.js';
import { spawnCollector } from '../collector/processes.js';
import { BACKENDS, HostChain, keyEntry, newDatabase, removeTempDirs, tempFolder } from '../collector/support.js';
import { body } from './helpers.js';

afterAll(removeTempDirs);

describe.each(BACKENDS)('witness in two collector processes on one %s database', (backend) => {
  it('racing requests from one state: exactly one cosigned, the others 409', { timeout: 180_000 }, async () => {
    const db = await newDatabase(backend, 'witness-race');
    const host = new HostChain();
    const origin = 'example.com/raced';
    const admin = await createCollectorServer({ db, rateLimit: false });
    await admin.sources.add({ name: 'raced', eventKeys: [keyEntry(host.key!)], checkpointKeys: [host.verifierKey()], origin, requireSignatures: false });
    await admin.close();
    const witnessKey = generateSigningKey({ name: 'witness.example/w1' });
    const keyFile = path.join(tempFolder(), 'witness.key');
    writeSigningKeyFile(witnessKey, keyFile);
    const [a, b] = await Promise.all([spawnCollector(db, ['--witness-key', keyFile]), spawnCollector(db, ['--witness-key', keyFile])]);
    try {
      const note = (leaves: Buffer[]) => signCheckpoint({ origin, size: leaves.length, rootHash: rootFromLeaves(leaves) }, [host.key!]);
      const send = (url: string, payload: Buffer) => fetch(`${url}/add-checkpoint`, { method: 'POST', body: payload });
      const base = sampleLeaves(8, 'base');
      expect((await send(a.url, body(0, [], note(base)))).status).toBe(200);
      for (let round = 0; round < 5; round++) {
        const size = 8 + round * 10;
        const known = [...base];
        // Twelve different trees of size + 10, each extending the cosigned one.
        const branches = Array.from({ length: 12 }, (_, i) => [...known, ...sampleLeaves(size + 10 - known.length, `r${round} b${i}`)]);
        const responses = await Promise.all(
          branches.map((leaves, i) => send(i % 2 === 0 ? a.url : b.url, body(size, naiveProof(size, leaves), note(leaves)))),
        );
        const statuses = responses.map((r) => r.status);
        expect(statuses.filter((s) => s === 200), `round ${round}: ${statuses.join(' ')}`).toHaveLength(1);
        expect(statuses.filter((s) => s === 409)).toHaveLength(11);
        const winner = branches[statuses.indexOf(200)]!;
        const cosigned = await (await fetch(`${b.url}/v1/sources/raced/checkpoint`)).text();
        expect(cosigned.startsWith(note(winner))).toBe(true);
        expect(verifyCosignatures(cosigned, [cosignatureVerifierOf(witnessKey)])).toHaveLength(1);
        base.splice(0, base.length, ...winner);
      }
    } finally {
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect((await a.exited).code).toBe(0);
      expect((await b.exited).code).toBe(0);
    }
  });
});
