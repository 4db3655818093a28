// spec §18.9.1: the witness state put back to an older note the witness really cosigned (a
// rollback) passes every signature check; the append-only, chained witness log catches it, in
// `collector verify` and in the witness itself, which refuses to advance from such a state.
// Both backends, with a real ledger, the real witness and the CLI.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openCollectorDatabase } from '../../src/collector/database.js';
import { collectorMigrator } from '../../src/collector/migrations.js';
import { createCollectorServer } from '../../src/collector/server.js';
import { verifyCollectorStore } from '../../src/collector/verify-store.js';
import { checkWitnessLog, witnessLogHash } from '../../src/collector/witness-log.js';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { cosignatureVerifierKeyString } from '../../src/merkle/cosignature.js';
import { verifierKeyString } from '../../src/merkle/verifier-key.js';
import { cli } from '../cli/cli-harness.js';
import { jsonlLines, ledgerDir, openNew, type Fixture } from '../ledger/ledger-helpers.js';
import { BACKENDS, keyEntry, newDatabase, removeTempDirs } from './support.js';

const fixtures: Fixture[] = [];
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()));
afterAll(removeTempDirs);

function addCheckpointBody(oldSize: number, proof: Buffer[], note: string): string {
  return `old ${oldSize}\n${proof.map((p) => p.toString('base64') + '\n').join('')}\n${note}`;
}

function consistency(ledger: Ledger, from: number, to: number): Buffer[] {
  return ledger.proveConsistency(from, to).proof.map((h) => Buffer.from(h, 'hex'));
}

describe.each(BACKENDS)('the witness log on %s', (backend) => {
  it('a witness state rolled back to an older cosigned note fails verify (exit 2) and stops the witness; the log itself is append-only', { timeout: 120_000 }, async () => {
    const witnessKey = generateSigningKey({ name: 'witness.example/w' });
    const vkey = cosignatureVerifierKeyString(witnessKey.name, witnessKey.publicKey);
    const dbUrl = await newDatabase(backend);
    const collector = await createCollectorServer({ db: dbUrl, rateLimit: false, witnessKey });
    const f = ledgerDir();
    fixtures.push(f);
    const hostKey = generateSigningKey({ name: 'host-r-log' });
    const ledger = await openNew(f.dir, { signer: hostKey, origin: 'example.com/host-r' });
    try {
      const { token } = await collector.sources.add({
        name: 'host-r', eventKeys: [keyEntry(hostKey)], checkpointKeys: [verifierKeyString(hostKey.name, hostKey.publicKey)], origin: 'example.com/host-r',
      });
      const ship = async (from: number) => {
        const r = await collector.inject({
          method: 'POST', url: '/v1/sources/host-r/events',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
          payload: jsonlLines(f.dir).slice(from).map((l) => l + '\n').join(''),
        });
        expect(r.statusCode, r.body).toBe(200);
      };
      const cosign = (old: number, proof: Buffer[], note: string) => collector.inject({ method: 'POST', url: '/add-checkpoint', payload: addCheckpointBody(old, proof, note) });
      await ledger.appendBatch(Array.from({ length: 12 }, (_, i) => ({ kind: 'k', payload: { i } })));
      await ship(0);
      expect((await cosign(0, [], await ledger.checkpoint())).statusCode).toBe(200);
      const db = collector.database.db;
      const older = await db.selectFrom('witness_state').selectAll().executeTakeFirstOrThrow();
      await ledger.appendBatch(Array.from({ length: 8 }, (_, i) => ({ kind: 'k', payload: { i: 12 + i } })));
      await ship(12);
      const cp20 = await ledger.checkpoint();
      expect((await cosign(12, consistency(ledger, 12, 20), cp20)).statusCode).toBe(200);
      let report = await verifyCollectorStore(collector.database, { witnessKeys: [vkey] });
      expect(report.problems).toEqual([]);
      const head = report.sources[0]!.witnessLogHead;
      expect(head).toMatch(/^[0-9a-f]{64}$/);
      expect((await db.selectFrom('witness_log').select('size').orderBy('id').execute()).map((r) => r.size)).toEqual([12, 20]);

      // The attack: the state row replaced by the older note, which the witness really cosigned.
      const rollBack = () => db.updateTable('witness_state').set({ size: older.size, root: older.root, note: older.note, cosigned_at: older.cosigned_at, updated_at: older.updated_at }).execute();
      await rollBack();
      report = await verifyCollectorStore(collector.database, { witnessKeys: [vkey] });
      // Every signature and root check passes (the note is genuine); only the log tells.
      expect(report.problems.map((p) => p.code)).toEqual(['WITNESS_INCONSISTENT']);
      expect(report.problems[0]!.message).toMatch(/size 12\) is not the last cosigned checkpoint of its log \(size 20\)/);
      expect((await verifyCollectorStore(collector.database)).ok).toBe(false);
      const viaCli = cli(['collector', 'verify', '--db', dbUrl, '--witness-vkey', vkey, '--json']);
      expect(viaCli.code).toBe(2);
      expect(JSON.parse(viaCli.stdout).problems.map((p: { code: string }) => p.code)).toEqual(['WITNESS_INCONSISTENT']);

      // The witness does not advance from the rolled-back state (from there it could be led to
      // cosign a second history after size 12).
      const issued = async () => (await collector.inject({ method: 'GET', url: '/metrics' })).body.match(/cosignatures_issued_total\{source="host-r"\} (\d+)/)?.[1];
      const before = await issued();
      const again = await cosign(12, consistency(ledger, 12, 20), cp20);
      expect(again.statusCode).toBe(409);
      expect(again.body).toMatch(/witness log/);
      expect(await issued()).toBe(before);
      expect((await db.selectFrom('witness_state').select('size').executeTakeFirstOrThrow()).size).toBe(12);

      // The log refuses changes: rows are never updated or deleted.
      await expect(db.updateTable('witness_log').set({ size: 12 }).execute()).rejects.toThrow(/never changed/);
      await expect(db.deleteFrom('witness_log').where('size', '=', 20).execute()).rejects.toThrow(/never changed/);

      // An edited record breaks the chain (tested on the function: the triggers refuse the edit).
      const log = await db.selectFrom('witness_log').select(['source', 'size', 'root', 'note', 'cosigned_at', 'prev', 'hash']).orderBy('id').execute();
      expect(checkWitnessLog(log, log[1]!)).toEqual([]);
      expect(checkWitnessLog([{ ...log[0]!, cosigned_at: log[0]!.cosigned_at + 1 }, log[1]!], log[1]!).map((p) => p.code)).toEqual(['LEDGER_CORRUPT']);
      expect(checkWitnessLog([log[1]!], log[1]!).map((p) => p.code)).toEqual(['CHAIN_BROKEN']);
      expect(checkWitnessLog([...log, { ...log[0]!, prev: log[1]!.hash, hash: witnessLogHash({ ...log[0]!, prev: log[1]!.hash }) }], log[0]!).map((p) => p.code)).toEqual(['WITNESS_INCONSISTENT']);

      // The limit (spec §18.9.1): an owner of the database who drops the triggers and rewrites
      // the log with the state passes verify; only a log head kept outside shows it.
      if (backend === 'sqlite') await sql`DROP TRIGGER witness_log_no_delete`.execute(db);
      else await sql`DROP TRIGGER witness_log_immutable ON witness_log`.execute(db);
      await db.deleteFrom('witness_log').where('size', '=', 20).execute();
      report = await verifyCollectorStore(collector.database, { witnessKeys: [vkey] });
      expect(report.problems).toEqual([]);
      expect(report.sources[0]!.witnessLogHead).not.toBe(head);
      // The head kept from the earlier verify shows the rewrite.
      report = await verifyCollectorStore(collector.database, { witnessKeys: [vkey], knownWitnessLogHeads: { 'host-r': head! } });
      expect(report.problems.map((p) => p.code)).toEqual(['WITNESS_INCONSISTENT']);
      const withHead = cli(['collector', 'verify', '--db', dbUrl, '--witness-log-head', `host-r=${head}`]);
      expect(withHead.code).toBe(2);
      expect(withHead.stdout).toMatch(/no longer holds the head/);
      const earlierHead = (await db.selectFrom('witness_log').select('hash').orderBy('id').executeTakeFirstOrThrow()).hash;
      expect(cli(['collector', 'verify', '--db', dbUrl, '--witness-log-head', `host-r=${earlierHead}`]).code).toBe(0);
      expect(cli(['collector', 'verify', '--db', dbUrl, '--witness-log-head', 'host-r=zz']).code).toBe(64);
    } finally {
      await ledger.close();
      await collector.close();
    }
  });

  it('a state cosigned before the log existed becomes the first record of its log when migrating', async () => {
    const h = await openCollectorDatabase(await newDatabase(backend), { migrate: false });
    try {
      expect((await collectorMigrator(h.db, h.dialect).migrateTo('0002_source_read_tokens')).error).toBeUndefined();
      await h.db.insertInto('sources').values({ name: 'old', token_hash: 'x', require_signatures: 0, checkpoint_origin: 'example.com/old', created_at: '2026-01-01T00:00:00Z' } as never).execute();
      await h.db.insertInto('witness_state').values({ source: 'old', size: 3, root: 'ab'.repeat(32), note: 'a note\n\n— w sig\n', cosigned_at: 1_760_000_000, updated_at: '2026-01-02T00:00:00Z' }).execute();
      expect((await collectorMigrator(h.db, h.dialect).migrateToLatest()).error).toBeUndefined();
      const log = await h.db.selectFrom('witness_log').selectAll().execute();
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ source: 'old', size: 3, prev: '0'.repeat(64), recorded_at: '2026-01-02T00:00:00Z' });
      const ws = await h.db.selectFrom('witness_state').selectAll().executeTakeFirstOrThrow();
      expect(checkWitnessLog(log, ws)).toEqual([]);
    } finally {
      await h.close();
    }
  });
});
