// spec §18.3.6, §18.3.7 (ADR 0027): a batch checked in chunks while earlier chunks are stored is
// stored exactly as one checked at once; the per-process cache of a source's token and keys
// follows changes made by another process at the next batch; concurrent requests of one source
// never store out of order. Real collector processes (dist/, with check workers), both backends.
import http from 'node:http';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { openCollectorDatabase } from '../../src/collector/database.js';
import { SourceRegistry } from '../../src/collector/sources.js';
import { verifyCollectorStore } from '../../src/collector/verify-store.js';
import { post, shipAll, spawnCollector, type CollectorProcess, type ShipStats } from './processes.js';
import { BACKENDS, HostChain, keyEntry, newDatabase, removeTempDirs } from './support.js';

afterAll(removeTempDirs);

/** The registry of `db` as another process sees it: the test process, not the collector. */
async function withRegistry<T>(db: string, f: (r: SourceRegistry) => Promise<T>): Promise<T> {
  const h = await openCollectorDatabase(db);
  try {
    return await f(new SourceRegistry(h));
  } finally {
    await h.close();
  }
}

async function stored(db: string, source: string): Promise<number[]> {
  const h = await openCollectorDatabase(db);
  try {
    const rows = await h.db.selectFrom('events').select('seq').where('source', '=', source).orderBy('ingest').execute();
    const report = await verifyCollectorStore(h);
    expect(report.problems).toEqual([]);
    return rows.map((r) => r.seq);
  } finally {
    await h.close();
  }
}

/**
 * Sends the headers of an ingest request announcing `length` body bytes, and never the body:
 * the status the collector answers without reading the body, or 'no answer' after 5 s.
 */
function headersOnly(url: string, source: string, token: string, length: number): Promise<number | 'no answer'> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/v1/sources/${source}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', 'content-length': String(length) },
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve('no answer');
    }, 5000);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      req.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.flushHeaders();
  });
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

async function stop(...procs: CollectorProcess[]): Promise<void> {
  for (const p of procs) p.child.kill('SIGTERM');
  for (const p of procs) expect((await p.exited).code).toBe(0);
}

describe.each(BACKENDS)('ingest in chunks on %s', (backend) => {
  it('a bad line, a gap or a fork in any chunk stops the batch there; the lines before it are stored, none after', { timeout: 180_000 }, async () => {
    const db = await newDatabase(backend, 'chunks');
    const host = new HostChain();
    host.append(2400);
    const token = await withRegistry(db, (r) => r.add({ name: 'chunky', eventKeys: [keyEntry(host.key!)], requireSignatures: true })).then((t) => t.token);
    const proc = await spawnCollector(db);
    try {
      // A bad signature at line 701: the first line of the fourth chunk on PostgreSQL
      // (100/300/300/200/100, spec §18.3.8), so the three chunks before it are stored.
      const lines = host.lines.slice(0, 1000);
      lines[700] = lines[700]!.replace(/"value":"[A-Za-z0-9+/]{4}/, '"value":"AAAA');
      let r = await post(proc.url, 'chunky', token, lines.map((l) => l + '\n').join(''));
      expect(r.status, JSON.stringify(r.json)).toBe(422);
      expect(r.json).toMatchObject({ code: 'INVALID_SIGNATURE', line: 701, seq: 700, accepted: 700, next: 700 });
      expect(await stored(db, 'chunky')).toEqual(range(0, 700));

      // A gap inside the fourth chunk: seq 1,800 missing from a batch 1,000..1,999 after 700..999.
      r = await post(proc.url, 'chunky', token, host.body(700, 1000));
      expect([r.status, r.json.accepted]).toEqual([200, 300]);
      const gapped = host.lines.slice(1000, 2000).filter((_, i) => i !== 800);
      r = await post(proc.url, 'chunky', token, gapped.map((l) => l + '\n').join(''));
      expect(r.status, JSON.stringify(r.json)).toBe(409);
      expect(r.json).toMatchObject({ code: 'SEQ_GAP', line: 801, seq: 1801, accepted: 800, next: 1800 });
      expect(await stored(db, 'chunky')).toEqual(range(0, 1800));

      // A fork in the first chunk while the later chunks are still being checked: nothing after it.
      const other = new HostChain(host.key);
      other.append(1900);
      const mixed = [...host.lines.slice(1700, 1750), other.lines[1750]!, ...host.lines.slice(1751, 2400)];
      r = await post(proc.url, 'chunky', token, mixed.map((l) => l + '\n').join(''));
      expect(r.status, JSON.stringify(r.json)).toBe(409);
      expect(r.json).toMatchObject({ code: 'FORK', seq: 1750, line: 51, accepted: 0, duplicates: 50, next: 1800 });
      expect(await stored(db, 'chunky')).toEqual(range(0, 1800));

      // Duplicates across chunk boundaries, then the rest.
      r = await post(proc.url, 'chunky', token, host.body(1500, 2400));
      expect(r.json).toMatchObject({ accepted: 600, duplicates: 300, next: 2400 });
      expect(await stored(db, 'chunky')).toEqual(range(0, 2400));
    } finally {
      await stop(proc);
    }
  });

  it('concurrent requests of one source, on one process and on two: stored in order, contiguous, one row per seq', { timeout: 180_000 }, async () => {
    const db = await newDatabase(backend, 'concurrent');
    const host = new HostChain();
    host.append(4000);
    const { token } = await withRegistry(db, (r) => r.add({ name: 'racer', eventKeys: [keyEntry(host.key!)], requireSignatures: true }));
    const a = await spawnCollector(db);
    const b = await spawnCollector(db);
    try {
      const statuses: number[] = [];
      let next = 0;
      while (next < 4000) {
        // Batches k+1, k and k+2 sent at once, alternately to each process: each is stored
        // whole, in order, or answered 409 SEQ_GAP and sent again from `next`.
        const ks = [next + 500, next, next + 1000].filter((k) => k < 4000);
        const rs = await Promise.all(ks.map((k, i) => post([a, b][(i + next / 500) % 2]!.url, 'racer', token, host.body(k, Math.min(4000, k + 500)))));
        for (const r of rs) {
          statuses.push(r.status);
          expect([200, 409], JSON.stringify(r.json)).toContain(r.status);
          if (r.status === 409) expect(r.json.code).toBe('SEQ_GAP');
          next = Math.max(next, r.json.next);
        }
      }
      expect(await stored(db, 'racer')).toEqual(range(0, 4000));
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(8);
    } finally {
      await stop(a, b);
    }
  });
});

describe.each(BACKENDS)('the cached token and keys of a source on %s', (backend) => {
  it('follow rotate-token, add-key and retire-key done by another process at the next batch', { timeout: 180_000 }, async () => {
    const db = await newDatabase(backend, 'cache');
    const host = new HostChain();
    const { token: first } = await withRegistry(db, (r) => r.add({ name: 'cached', eventKeys: [keyEntry(host.key!)], requireSignatures: true }));
    const proc = await spawnCollector(db);
    try {
      host.append(300);
      expect((await post(proc.url, 'cached', first, host.body(0, 100))).status).toBe(200); // the context is cached now

      // rotate-token elsewhere: the old token is refused by this process at once, before its
      // body is read (a request that sends only its headers is answered).
      const { token: second } = await withRegistry(db, (r) => r.rotateToken('cached'));
      expect(await headersOnly(proc.url, 'cached', first, Buffer.byteLength(host.body(100, 200)))).toBe(401);
      let r = await post(proc.url, 'cached', first, host.body(100, 200));
      expect(r.status, JSON.stringify(r.json)).toBe(401);
      expect(await stored(db, 'cached')).toEqual(range(0, 100));
      r = await post(proc.url, 'cached', second, host.body(100, 200));
      expect([r.status, r.json.accepted]).toEqual([200, 100]);
      r = await post(proc.url, 'cached', first, host.body(200, 300)); // and stays refused
      expect(r.status).toBe(401);

      // add-key elsewhere: a line signed by the new key is accepted at once.
      const newKey = generateSigningKey({ name: 'new-key' });
      const signedByNew = host.next({}, { signer: newKey }); // seq 300
      r = await post(proc.url, 'cached', second, host.body(200, 301));
      expect(r.status, JSON.stringify(r.json)).toBe(422); // not registered yet: 100 accepted, then refused
      expect(r.json).toMatchObject({ accepted: 100, next: 300, seq: 300 });
      await withRegistry(db, (r2) => r2.addKeys('cached', { eventKeys: [keyEntry(newKey)] }));
      r = await post(proc.url, 'cached', second, signedByNew + '\n');
      expect([r.status, r.json.accepted], JSON.stringify(r.json)).toEqual([200, 1]);

      // retire-key elsewhere: a line signed by the retired key after its retirement is refused.
      await withRegistry(db, (r2) => r2.retireKey('cached', host.key!.kid));
      host.append(2); // seq 301, 302: signed by the retired key
      r = await post(proc.url, 'cached', second, host.body(301, 303));
      expect(r.status, JSON.stringify(r.json)).toBe(422);
      expect(r.json).toMatchObject({ accepted: 0, next: 301, seq: 301 });
      expect(await stored(db, 'cached')).toEqual(range(0, 301));
    } finally {
      await stop(proc);
    }
  });
});

describe('a PostgreSQL connection lost while a batch waits for its next chunk', () => {
  it('fails that batch with 503; the collector process lives on and the resend is stored', { timeout: 180_000 }, async () => {
    const db = await newDatabase('postgres', 'killed');
    const host = new HostChain();
    host.append(8000);
    const { token } = await withRegistry(db, (r) => r.add({ name: 'cut', eventKeys: [keyEntry(host.key!)], requireSignatures: true }));
    const proc = await spawnCollector(db);
    // Ends the collector's connections that sit idle inside a transaction: an ingest transaction
    // waiting for a chunk's checks. A pg client idle and checked out emits 'error' on that.
    const killer = new pg.Client({ connectionString: db });
    await killer.connect();
    let killed = 0;
    let stopKilling = false;
    const killing = (async () => {
      while (!stopKilling && killed < 3) {
        const r = await killer.query(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle in transaction'`);
        killed += r.rows[0].n;
        await new Promise((res) => setTimeout(res, 2));
      }
    })();
    try {
      const stats: ShipStats = { accepted: 0, duplicates: 0, statuses: {} };
      await shipAll(() => proc.url, 'cut', token, host.lines, { batch: 1000, stats, deadlineMs: 150_000 });
      stopKilling = true;
      await killing;
      expect(killed, JSON.stringify(stats)).toBe(3);
      expect(stats.statuses['503'] ?? 0, JSON.stringify(stats)).toBeGreaterThan(0);
      expect(stats.statuses.network ?? 0, proc.logs()).toBe(0);
      expect(proc.child.exitCode).toBeNull();
      expect(await stored(db, 'cut')).toEqual(range(0, 8000));
    } finally {
      stopKilling = true;
      await killing.catch(() => undefined);
      await killer.end();
      await stop(proc);
    }
  });
});
