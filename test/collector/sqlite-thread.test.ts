// spec §18.6.2 (ADR 0028): the collector's SQLite connection runs on a worker thread, so a
// transaction that waits for the file's write lock or commits a large batch holds that thread,
// not the event loop that answers /healthz, streams and other sources. The other process holding
// the lock is real (a child), and the thread is killed for real (Worker.terminate).
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openCollectorDatabase } from '../../src/collector/database.js';
import { SourceRegistry } from '../../src/collector/sources.js';
import { isDatabaseUnavailable } from '../../src/collector/unavailable.js';
import { newDatabase, removeTempDirs, startCollector, tempFolder } from './support.js';
import { holdSqliteWriteLock } from './processes.js';

afterAll(removeTempDirs);

describe('the SQLite connection on a worker thread', () => {
  it('/healthz is answered while an ingest batch waits for another process\'s write lock', { timeout: 60_000 }, async () => {
    const c = await startCollector('sqlite');
    try {
      const holder = holdSqliteWriteLock(c.db, 1_500);
      await holder.held;
      const started = performance.now();
      let finished = 0;
      const batch = c.post(c.host.body(0, c.host.append(20).length)).then((r) => {
        finished = performance.now();
        return r;
      });
      // Before: better-sqlite3 waited for the lock on the event loop, so nothing was answered
      // until the batch had the lock (about 1.5 s here, whatever the machine's load).
      const latencies: number[] = [];
      while (finished === 0) {
        const t = performance.now();
        const res = await c.collector.inject({ method: 'GET', url: '/healthz' });
        expect(res.statusCode).toBe(200);
        latencies.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 10));
      }
      const r = await batch;
      expect(r.status).toBe(200);
      expect(r.json.accepted).toBe(20);
      expect(await holder.done).toBe(0);
      const batchMs = finished - started;
      expect(batchMs).toBeGreaterThan(1_000);
      // Bounded by the batch's own duration, not by absolute milliseconds: on a loaded machine
      // both stretch.
      expect(latencies.length).toBeGreaterThan(10);
      expect(Math.max(...latencies)).toBeLessThan(batchMs / 4);
    } finally {
      await c.close();
    }
  });

  it('a killed thread fails the waiting query and every later one with IO_ERROR naming the file; nothing hangs', { timeout: 60_000 }, async () => {
    const file = await newDatabase('sqlite', 'crash');
    const lost: Error[] = [];
    const h = await openCollectorDatabase(file, { busyTimeoutMs: 20_000, onDatabaseLost: (e) => lost.push(e) });
    const holder = holdSqliteWriteLock(file, 3_000);
    try {
      await holder.held;
      const waiting = new SourceRegistry(h).add({ name: 'late' }).then(() => undefined, (e: unknown) => e);
      await new Promise((r) => setTimeout(r, 200));
      await h.sqliteThread!.terminate();
      const err = (await waiting) as { code?: string; message?: string; details?: { path?: string } };
      expect(err).toMatchObject({ code: 'IO_ERROR', details: { path: file } });
      expect(err.message).toContain(file);
      expect(lost).toHaveLength(1);
      await expect(h.db.selectFrom('sources').selectAll().execute()).rejects.toMatchObject({ code: 'IO_ERROR' });
      expect(isDatabaseUnavailable(err)).toBe(false);
      await h.close();
    } finally {
      await holder.done;
    }
    // The lock holder committed; the killed transaction wrote nothing.
    const again = await openCollectorDatabase(file);
    try {
      expect(await new SourceRegistry(again).list()).toEqual([]);
    } finally {
      await again.close();
    }
  });

  it('a collector whose thread died answers /readyz 503 and refuses batches with 500, not a hang', { timeout: 60_000 }, async () => {
    const c = await startCollector('sqlite');
    try {
      await c.collector.database.sqliteThread!.terminate();
      const ready = await c.collector.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().reason).toContain('died');
      const r = await c.post(c.host.body(0, c.host.append(3).length));
      expect(r.status).toBe(500);
      expect((await c.collector.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await c.close();
    }
  });

  it('keeps SQLite error codes, names the path of a file it cannot open, and streams select results in chunks', { timeout: 60_000 }, async () => {
    const missing = path.join(tempFolder(), 'no-such-dir', 'c.sqlite');
    await expect(openCollectorDatabase(missing)).rejects.toMatchObject({ code: 'IO_ERROR', details: { path: missing, errno: 'ENOENT' } });

    const h = await openCollectorDatabase(await newDatabase('sqlite', 'codes'));
    try {
      const registry = new SourceRegistry(h);
      for (const name of ['a', 'b', 'c', 'd', 'e']) await registry.add({ name });
      const dup = await sql`INSERT INTO heads (source, seq, hash, updated_at) VALUES ('a', -1, '', '')`.execute(h.db).then(() => undefined, (e: unknown) => e);
      expect(dup).toMatchObject({ name: 'SqliteError', code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
      const names: string[] = [];
      for await (const r of h.db.selectFrom('sources').select('name').orderBy('name').stream(2)) names.push(r.name);
      expect(names).toEqual(['a', 'b', 'c', 'd', 'e']);
      // A stream left early closes its statement; the connection serves the next query.
      for await (const r of h.db.selectFrom('sources').select('name').orderBy('name').stream(2)) {
        expect(r.name).toBe('a');
        break;
      }
      expect((await registry.list()).length).toBe(5);
      const blob = await sql<{ b: Buffer }>`SELECT x'00ff10' AS b`.execute(h.db);
      expect(Buffer.isBuffer(blob.rows[0]!.b)).toBe(true);
      expect(blob.rows[0]!.b.toString('hex')).toBe('00ff10');
    } finally {
      await h.close();
    }
    await expect(h.db.selectFrom('sources').selectAll().execute()).rejects.toThrow();
  });
});
