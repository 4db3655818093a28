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
import { cosignatureVerifierKeyString } from '../../src/merkle/cosignature.js';
import { writeSigningKeyFile } from '../../src/crypto/signing-key.js';
import { cli } from '../cli/cli-harness.js';
import { tempFolder } from './support.js';
import path from 'node:path';
import { BACKENDS, keyEntry, newDatabase, removeTempDirs } from './support.js';

const fixtures: Fixture[] = [];
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()));
afterAll(removeTempDirs);

function addCheckpointBody(oldSize: number, proof: Buffer[], note: string): string {
  return `old ${oldSize}\n${proof.map((p) => p.toString('base64') + '\n').join('')}\n${note}`;
}

describe.each(BACKENDS)("collector verify checks the witness's own cosignature on %s", (backend) => {
  it('a forged, stripped or re-timed cosignature, or a note swapped for another, fails verify under the witness key (exit 2)', { timeout: 120_000 }, async () => {
    const witnessKey = generateSigningKey({ name: 'witness.example/w' });
    const db = await newDatabase(backend);
    const collector = await createCollectorServer({ db, rateLimit: false, witnessKey });
    const vkey = cosignatureVerifierKeyString(witnessKey.name, witnessKey.publicKey);
    expect(collector.witnessVerifierKey).toBe(vkey);
    const f = ledgerDir();
    fixtures.push(f);
    const hostKey = generateSigningKey({ name: 'host-w-log' });
    const ledger = await openNew(f.dir, { signer: hostKey, origin: 'example.com/host-w' });
    const tmp = tempFolder();
    const keyFile = path.join(tmp, 'witness.json');
    writeSigningKeyFile(witnessKey, keyFile);
    try {
      const { token } = await collector.sources.add({
        name: 'host-w', eventKeys: [keyEntry(hostKey)], checkpointKeys: [verifierKeyString(hostKey.name, hostKey.publicKey)], origin: 'example.com/host-w',
      });
      await ledger.appendBatch(Array.from({ length: 12 }, (_, i) => ({ kind: 'k', payload: { i } })));
      const ship = await collector.inject({
        method: 'POST', url: '/v1/sources/host-w/events',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
        payload: jsonlLines(f.dir).map((l) => l + '\n').join(''),
      });
      expect(ship.statusCode).toBe(200);
      const checkpoint = await ledger.checkpoint();
      expect((await collector.inject({ method: 'POST', url: '/add-checkpoint', payload: addCheckpointBody(0, [], checkpoint) })).statusCode).toBe(200);
      const codes = async (keys = [vkey]) => (await verifyCollectorStore(collector.database, { witnessKeys: keys })).problems.map((p) => p.code);
      expect(await codes()).toEqual([]);
      const viaCli = cli(['collector', 'verify', '--db', db, '--witness-vkey', vkey, '--json']);
      expect(viaCli.code, viaCli.stderr).toBe(0);
      expect(JSON.parse(viaCli.stdout)).toMatchObject({ ok: true, cosignaturesChecked: true });

      const ws = collector.database.db;
      const saved = await ws.selectFrom('witness_state').select(['note', 'cosigned_at']).executeTakeFirstOrThrow();
      const [text, cosig] = [saved.note.slice(0, saved.note.lastIndexOf('\u2014 ')), saved.note.slice(saved.note.lastIndexOf('\u2014 '))];
      expect(text).toBe(checkpoint);
      const set = (v: { note?: string; cosigned_at?: number }) => ws.updateTable('witness_state').set(v).execute();

      // 1. A cosignature line whose signature bytes were altered (one base64 character).
      const b64 = cosig.trimEnd().split(' ').pop()!;
      const flipped = b64.slice(0, 40) + (b64[40] === 'A' ? 'B' : 'A') + b64.slice(41);
      await set({ note: text + cosig.replace(b64, flipped) });
      // Each edit of the state row also leaves it unequal to the witness log's head (§18.9.1).
      expect(await codes()).toEqual(['INVALID_SIGNATURE', 'WITNESS_INCONSISTENT']);
      // Without the witness key, verify cannot check the cosignature, and says so; only the
      // witness log shows that the row was changed.
      const unchecked = await verifyCollectorStore(collector.database);
      expect(unchecked.cosignaturesChecked).toBe(false);
      expect(unchecked.problems.map((p) => p.code)).toEqual(['WITNESS_INCONSISTENT']);
      const tamperedCli = cli(['collector', 'verify', '--db', db, '--witness-key', keyFile, '--json']);
      expect(tamperedCli.code).toBe(2);
      expect(JSON.parse(tamperedCli.stdout).problems.map((p: { code: string }) => p.code)).toEqual(['INVALID_SIGNATURE', 'WITNESS_INCONSISTENT']);
      const plainCli = cli(['collector', 'verify', '--db', db]);
      expect(plainCli.code).toBe(2);
      expect(plainCli.stderr).toMatch(/cosignatures were not checked/);

      // 2. The cosignature line stripped: a log-signed note that no witness ever cosigned.
      await set({ note: text });
      expect(await codes()).toEqual(['SIGNATURE_REQUIRED', 'WITNESS_INCONSISTENT']);
      // 3. A cosignature by another key under the witness's name.
      const impostor = generateSigningKey({ name: witnessKey.name });
      const { cosignCheckpoint } = await import('../../src/merkle/cosignature.js');
      const forged = cosignCheckpoint(text.slice(0, text.indexOf('\n\n') + 1), { name: impostor.name, publicKey: impostor.publicKey, sign: (m) => impostor.sign(m) }, saved.cosigned_at);
      await set({ note: text + forged });
      expect(await codes()).toEqual(['SIGNATURE_REQUIRED', 'WITNESS_INCONSISTENT']);
      // 4. The recorded time changed: the cosignature no longer says what the row says.
      await set({ note: saved.note, cosigned_at: saved.cosigned_at + 1 });
      expect(await codes()).toEqual(['LEDGER_CORRUPT', 'WITNESS_INCONSISTENT']);
      // 5. The checkpoint text edited under a kept cosignature line: log signature and cosignature both fail.
      await set({ note: text.replace('\n12\n', '\n11\n') + cosig, cosigned_at: saved.cosigned_at });
      expect(await codes()).toEqual(expect.arrayContaining(['INVALID_SIGNATURE']));
      expect(cli(['collector', 'verify', '--db', db, '--witness-vkey', vkey]).code).toBe(2);

      await set({ note: saved.note, cosigned_at: saved.cosigned_at });
      expect(await codes()).toEqual([]);
      await expect(verifyCollectorStore(collector.database, { witnessKeys: ['not a key'] })).rejects.toMatchObject({ code: 'INVALID_KEY' });
    } finally {
      await ledger.close();
      await collector.close();
    }
  });
});

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
      expect((await verifyCollectorStore(collector.database)).problems.map((p) => p.code)).toEqual(['INVALID_CHECKPOINT', 'ROOT_MISMATCH', 'WITNESS_INCONSISTENT']);
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
