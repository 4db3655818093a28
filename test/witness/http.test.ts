// spec §19 through the collector's server, on both store backends: the witness routes, the
// kysely store's compare-and-swap under the source row lock, fork evidence in the forks table.
import { afterAll, describe, expect, it } from 'vitest';
import { createCollectorServer } from '../../src/collector/server.js';
import { generateSigningKey, type SigningKey } from '../../src/crypto/signing-key.js';
import { cosignatureVerifierOf, verifyCosignatures } from '../../src/merkle/cosignature.js';
import { rootFromLeaves } from '../../src/merkle/root.js';
import { signCheckpoint, verifyCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import { proof as naiveProof, sampleLeaves } from '../merkle/naive-rfc6962.js';
import { BACKENDS, removeTempDirs, startCollector, type HostChain, type TestCollector } from '../collector/support.js';
import { body } from './helpers.js';

afterAll(removeTempDirs);

const witnessKey = generateSigningKey({ name: 'witness.example/w1' });

function leaves(host: HostChain, size: number): Buffer[] {
  return host.hashes.slice(0, size).map((h) => Buffer.from(h, 'hex'));
}

function note(t: TestCollector, leafHashes: Buffer[], signer: SigningKey = t.host.key!): string {
  return signCheckpoint({ origin: `example.com/${t.source}`, size: leafHashes.length, rootHash: rootFromLeaves(leafHashes) }, [signer]);
}

function request(t: TestCollector, from: number, to: number, leafHashes = leaves(t.host, to)): Buffer {
  return body(from, from === 0 || from === to ? [] : naiveProof(from, leafHashes.slice(0, to)), note(t, leafHashes.slice(0, to)));
}

async function add(t: TestCollector, payload: Buffer | string) {
  const res = await t.collector.inject({ method: 'POST', url: '/add-checkpoint', payload, headers: { 'content-type': 'text/plain' } });
  return { status: res.statusCode, body: res.body, type: res.headers['content-type'] };
}

async function forkRows(t: TestCollector) {
  return t.collector.database.db.selectFrom('forks').selectAll().where('source', '=', t.source).where('kind', '=', 'checkpoint').execute();
}

describe.each(BACKENDS)('witness in the collector on %s', (backend) => {
  it('cosigns shipped checkpoints, serves the latest, and answers every status', async () => {
    const t = await startCollector(backend, { options: { witnessKey } });
    try {
      expect(t.collector.witness).toBe(true);
      t.host.append(12);
      expect((await t.post(t.host.body(0))).status).toBe(200);
      const first = await add(t, request(t, 0, 8));
      expect(first.status).toBe(200);
      expect(first.type).toBe('text/plain; charset=utf-8');
      const second = await add(t, request(t, 8, 12));
      expect(second.status).toBe(200);
      const got = await t.collector.inject({ method: 'GET', url: `/v1/sources/${t.source}/checkpoint` });
      expect(got.statusCode).toBe(200);
      expect(got.body).toBe(note(t, leaves(t.host, 12)) + second.body);
      expect(verifyCheckpoint(got.body, [t.host.verifierKey()]).size).toBe(12);
      expect(verifyCosignatures(got.body, [cosignatureVerifierOf(witnessKey)])).toHaveLength(1);

      expect(await add(t, request(t, 8, 12))).toMatchObject({ status: 409, body: '12\n', type: 'text/x.tlog.size' });
      expect((await add(t, 'old x\n\n'))).toMatchObject({ status: 400 });
      expect((await add(t, body(13, [], note(t, leaves(t.host, 12)))))).toMatchObject({ status: 400 });
      const stranger = generateSigningKey({ name: 'host-key' });
      expect((await add(t, body(12, [], note(t, leaves(t.host, 12), stranger))))).toMatchObject({ status: 403 });
      const other = signCheckpoint({ origin: 'example.com/nobody', size: 1, rootHash: Buffer.alloc(32, 1) }, [t.host.key!]);
      expect((await add(t, body(0, [], other)))).toMatchObject({ status: 404 });
      t.host.append(4);
      expect((await add(t, body(12, [Buffer.alloc(32)], note(t, leaves(t.host, 16)))))).toMatchObject({ status: 422 });
      expect(await forkRows(t)).toHaveLength(0);
      const metrics = await t.collector.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/cosignatures_issued_total\{source="host-a"\} 2/);
    } finally {
      await t.close();
    }
  });

  it('refuses another root at the cosigned size and keeps the evidence', async () => {
    const t = await startCollector(backend, { options: { witnessKey } });
    try {
      t.host.append(6);
      expect((await add(t, request(t, 0, 6))).status).toBe(200);
      const forked = [...leaves(t.host, 4), ...sampleLeaves(2, 'rewritten')];
      const res = await add(t, body(6, [], note(t, forked)));
      expect(res).toMatchObject({ status: 409, body: '6\n' });
      const rows = await forkRows(t);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.seq).toBe(6);
      expect(Buffer.from(rows[0]!.offered).toString('utf8')).toBe(note(t, forked));
      expect(Buffer.from(rows[0]!.stored).toString('utf8').startsWith(note(t, leaves(t.host, 6)).split('\n\n')[0]!)).toBe(true);
      const latest = await t.collector.inject({ method: 'GET', url: `/v1/sources/${t.source}/checkpoint` });
      expect(latest.body.startsWith(note(t, leaves(t.host, 6)))).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('refuses a checkpoint whose root differs from the shipped events', async () => {
    const t = await startCollector(backend, { options: { witnessKey } });
    try {
      t.host.append(9);
      expect((await t.post(t.host.body(0))).status).toBe(200);
      const rewritten = [...leaves(t.host, 5), ...sampleLeaves(4, 'rewritten')];
      expect(await add(t, body(0, [], note(t, rewritten)))).toMatchObject({ status: 409, body: '0\n' });
      const rows = await forkRows(t);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.reason).toMatch(/^events-mismatch/);
      expect((await t.collector.inject({ method: 'GET', url: `/v1/sources/${t.source}/checkpoint` })).statusCode).toBe(404);
      expect((await add(t, request(t, 0, 9))).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  // On PostgreSQL the requests really interleave (a pool, row locks); a compare-and-swap that
  // ignored its expected state fails this test there. SQLite's driver is synchronous, so in one
  // process the requests run one after the other; the next suite checks its swap directly.
  it('two collector servers on one database, racing from one state: exactly one cosigns', async () => {
    const t = await startCollector(backend, { options: { witnessKey } });
    const second = await createCollectorServer({ db: t.db, rateLimit: false, witnessKey });
    try {
      t.host.append(4);
      expect((await add(t, request(t, 0, 4))).status).toBe(200);
      // Eight requests from size 4, each to a different tree of size 10 that extends it.
      const forks = Array.from({ length: 8 }, (_, i) => [...leaves(t.host, 4), ...sampleLeaves(6, `branch ${i}`)]);
      const servers = [t.collector, second];
      const results = await Promise.all(
        forks.map((f, i) =>
          servers[i % 2]!.inject({ method: 'POST', url: '/add-checkpoint', payload: request(t, 4, 10, f), headers: { 'content-type': 'text/plain' } }),
        ),
      );
      const statuses = results.map((r) => r.statusCode).sort();
      expect(statuses).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
      const winner = forks[results.findIndex((r) => r.statusCode === 200)]!;
      const latest = await second.inject({ method: 'GET', url: `/v1/sources/${t.source}/checkpoint` });
      expect(latest.body.startsWith(note(t, winner))).toBe(true);
    } finally {
      await second.close();
      await t.close();
    }
  });
});

describe.each(BACKENDS)('the collector witness store on %s: compare-and-swap', (backend) => {
  it('stores only over the expected state, never over a changed one', async () => {
    const t = await startCollector(backend, { options: { witnessKey } });
    try {
      const { KyselyWitnessStore } = await import('../../src/collector/witness-store.js');
      const store = new KyselyWitnessStore(t.collector.database);
      const cp = (size: number, fill: number) => ({ size, rootHash: Buffer.alloc(32, fill), note: `n${size}/${fill}`, cosignedAt: size });
      expect(await store.recordCosigned(t.source, undefined, cp(3, 1))).toEqual({ ok: true });
      // Nothing stored was expected, but something is: refused.
      expect(await store.recordCosigned(t.source, undefined, cp(5, 2))).toMatchObject({ ok: false, current: { size: 3 } });
      // Right size, other root: refused.
      expect(await store.recordCosigned(t.source, { size: 3, rootHash: Buffer.alloc(32, 9) }, cp(5, 2))).toMatchObject({ ok: false });
      // Stale size: refused.
      expect(await store.recordCosigned(t.source, { size: 2, rootHash: Buffer.alloc(32, 1) }, cp(5, 2))).toMatchObject({ ok: false });
      expect(await store.latestCosigned(t.source)).toMatchObject({ size: 3, note: 'n3/1' });
      expect(await store.recordCosigned(t.source, { size: 3, rootHash: Buffer.alloc(32, 1) }, cp(5, 2))).toEqual({ ok: true });
      expect(await store.latestCosigned(t.source)).toMatchObject({ size: 5, note: 'n5/2', cosignedAt: 5 });
      expect((await store.recordCosigned('no-such-source', undefined, cp(1, 1))).ok).toBe(false);
    } finally {
      await t.close();
    }
  });
});
