// spec §18.4: faults from real processes. A collector SIGKILLed mid-batch leaves a contiguous
// verified prefix and a resend yields duplicates; two collector processes on one PostgreSQL with
// two clients racing keep one winner per seq; PostgreSQL stopped under load gives 503s and the
// same collector process recovers when it is back.
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { openCollectorDatabase } from '../../src/collector/database.js';
import { SourceRegistry } from '../../src/collector/sources.js';
import { verifyCollectorStore } from '../../src/collector/verify-store.js';
import { createDatabase, startCluster } from '../support/postgres.js';
import { post, spawnCollector, shipAll, type ShipStats } from './processes.js';
import { BACKENDS, HostChain, keyEntry, newDatabase, removeTempDirs } from './support.js';

afterAll(removeTempDirs);

async function register(db: string, name: string, host: HostChain): Promise<string> {
  const h = await openCollectorDatabase(db);
  try {
    return (await new SourceRegistry(h).add({ name, eventKeys: [keyEntry(host.key!)] })).token;
  } finally {
    await h.close();
  }
}

async function storeState(db: string) {
  const h = await openCollectorDatabase(db);
  try {
    const report = await verifyCollectorStore(h);
    const rows = await h.db.selectFrom('events').select(['source', 'seq']).execute();
    return { report, rows: rows.length, distinct: new Set(rows.map((r) => `${r.source}/${r.seq}`)).size };
  } finally {
    await h.close();
  }
}

describe.each(BACKENDS)('a collector SIGKILLed mid-batch on %s', (backend) => {
  it('keeps a contiguous verified prefix; after a restart the resend yields duplicates, never double rows', { timeout: 240_000 }, async () => {
    const db = await newDatabase(backend, 'sigkill');
    const host = new HostChain();
    host.append(3000);
    const token = await register(db, 'victim', host);
    let proc = await spawnCollector(db);
    let url = proc.url;
    const stats: ShipStats = { accepted: 0, duplicates: 0, statuses: {} };
    const shipping = shipAll(() => url, 'victim', token, host.lines, { batch: 500, stats, deadlineMs: 180_000 });
    // Kill while a batch is in flight: the client sends back to back, so one always is.
    while ((stats.statuses['200'] ?? 0) < 2) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30));
    proc.child.kill('SIGKILL');
    expect((await proc.exited).signal).toBe('SIGKILL');

    const afterKill = await storeState(db);
    expect(afterKill.report.problems).toEqual([]);
    expect(afterKill.report.sources[0]!.events).toBeGreaterThanOrEqual(1000);
    expect(afterKill.rows).toBe(afterKill.report.sources[0]!.events);
    expect(afterKill.distinct).toBe(afterKill.rows);

    proc = await spawnCollector(db);
    url = proc.url;
    await shipping;
    expect(stats.statuses.network ?? 0).toBeGreaterThan(0);
    // Everything again from seq 0, every batch: all duplicates.
    for (let i = 0; i < 3000; i += 1000) {
      const r = await post(url, 'victim', token, host.body(i, i + 1000));
      expect([r.status, r.json.accepted, r.json.duplicates, r.json.next]).toEqual([200, 0, 1000, 3000]);
    }
    const final = await storeState(db);
    expect(final.report.ok).toBe(true);
    expect(final.rows).toBe(3000);
    expect(final.distinct).toBe(3000);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
  });
});

// On SQLite every transaction begins IMMEDIATE under a busy timeout (spec §18.6.1), so processes
// sharing one file serialise on its write lock as PostgreSQL processes do on the head row.
describe.each(BACKENDS)('two collector processes on one %s database', (backend) => {
  it('two clients racing on the same source: contiguous, no duplicate row, exactly one winner per seq', { timeout: 240_000 }, async () => {
    const db = backend === 'postgres' ? await createDatabase(inject('pgUrl'), 'race') : await newDatabase('sqlite', 'race');
    const host = new HostChain();
    host.append(2000);
    const token = await register(db, 'shared', host);
    // The two processes migrate the same database at once: the migration lock serialises them.
    const [a, b] = await Promise.all([spawnCollector(db), spawnCollector(db)]);
    try {
      const [s1, s2] = await Promise.all([
        shipAll(() => a.url, 'shared', token, host.lines, { batch: 100 }),
        shipAll(() => b.url, 'shared', token, host.lines, { batch: 100 }),
      ]);
      // Each seq was accepted exactly once, by one of the two; the other saw it as a duplicate
      // (or skipped past it on a SEQ_GAP answer).
      expect(s1.accepted + s2.accepted).toBe(2000);
      expect(s1.duplicates + s2.duplicates + (s1.statuses['409'] ?? 0) + (s2.statuses['409'] ?? 0)).toBeGreaterThan(0);
      const state = await storeState(db);
      expect(state.report.ok).toBe(true);
      expect([state.rows, state.distinct]).toEqual([2000, 2000]);

      // Two hosts claiming one source with different chains: one wins, the other is a fork.
      const h1 = new HostChain();
      const h2 = new HostChain(h1.key);
      h1.append(500);
      h2.append(500);
      expect(h1.lines[0]).not.toBe(h2.lines[0]);
      const t2 = await register(db, 'contested', h1);
      const results = await Promise.allSettled([
        shipAll(() => a.url, 'contested', t2, h1.lines, { batch: 50 }),
        shipAll(() => b.url, 'contested', t2, h2.lines, { batch: 50 }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(String(lost[0]!.reason)).toMatch(/409.*FORK/);
      const after = await storeState(db);
      const contested = after.report.sources.find((s) => s.source === 'contested')!;
      expect(contested.events).toBe(500);
      expect(contested.forks).toBeGreaterThanOrEqual(1);
      expect(after.report.problems).toEqual([]);
    } finally {
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect((await a.exited).code).toBe(0);
      expect((await b.exited).code).toBe(0);
    }
  });
});

describe('PostgreSQL stopped and restarted under load', () => {
  it('answers 503 with Retry-After while it is down, then recovers without a collector restart; nothing lost', { timeout: 240_000 }, async () => {
    const cluster = await startCluster();
    try {
      const db = await createDatabase(cluster.url, 'restart');
      const host = new HostChain();
      host.append(3000);
      const token = await register(db, 'steady', host);
      const proc = await spawnCollector(db, ['--pool-size', '4']);
      const stats: ShipStats = { accepted: 0, duplicates: 0, statuses: {} };
      const shipping = shipAll(() => proc.url, 'steady', token, host.lines, { batch: 50, stats, deadlineMs: 180_000 });
      while ((stats.statuses['200'] ?? 0) < 5) await new Promise((r) => setTimeout(r, 5));
      cluster.stop();
      while ((stats.statuses['503'] ?? 0) < 3) await new Promise((r) => setTimeout(r, 20));
      const ready = await fetch(`${proc.url}/readyz`);
      expect(ready.status).toBe(503);
      cluster.start();
      await shipping;
      expect((await fetch(`${proc.url}/readyz`)).status).toBe(200);
      expect(proc.child.exitCode).toBeNull();
      expect(stats.statuses['503']).toBeGreaterThanOrEqual(3);
      const state = await storeState(db);
      expect(state.report.ok).toBe(true);
      expect([state.rows, state.distinct]).toEqual([3000, 3000]);
      const metrics = await (await fetch(`${proc.url}/metrics`)).text();
      // The token check itself needs the database, so these refusals carry no source label.
      expect(metrics).toMatch(/sealed_ledger_collector_events_rejected_total\{source="(steady)?",code="UNAVAILABLE"\} [1-9]/);
      proc.child.kill('SIGTERM');
      expect((await proc.exited).code).toBe(0);
    } finally {
      cluster.destroy();
    }
  });
});
