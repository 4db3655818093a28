// spec §18.6.1: several processes on one SQLite collector file. Every transaction begins
// IMMEDIATE, so one that reads before it writes (registering a source, a migration) waits for
// another process's write lock up to the busy timeout instead of failing with SQLITE_BUSY at the
// upgrade. The other process here is real: a child that holds the write lock for a while.
import { afterAll, describe, expect, it } from 'vitest';
import { openCollectorDatabase } from '../../src/collector/database.js';
import { SourceRegistry } from '../../src/collector/sources.js';
import { isDatabaseUnavailable } from '../../src/collector/unavailable.js';
import { newDatabase, removeTempDirs } from './support.js';
import { holdSqliteWriteLock } from './processes.js';

afterAll(removeTempDirs);

describe('several processes on one SQLite collector file', () => {
  it('a read-then-write transaction waits for another process holding the write lock, then succeeds', { timeout: 60_000 }, async () => {
    const file = await newDatabase('sqlite', 'multi');
    const h = await openCollectorDatabase(file, { busyTimeoutMs: 10_000 });
    try {
      const registry = new SourceRegistry(h);
      await registry.add({ name: 'first' });
      const holder = await holdSqliteWriteLock(file, 600);
      await holder.held;
      const started = performance.now();
      // Reads (does the name exist?) before it inserts: the case a deferred BEGIN gets wrong.
      await registry.add({ name: 'second' });
      const waited = performance.now() - started;
      expect(await holder.done).toBe(0);
      expect(waited).toBeGreaterThan(300);
      expect((await registry.list()).map((s) => s.source)).toEqual(['first', 'second']);
    } finally {
      await h.close();
    }
  });

  it('past the busy timeout the error is SQLITE_BUSY, which the server answers with 503 (not a lost write)', { timeout: 60_000 }, async () => {
    const file = await newDatabase('sqlite', 'multi');
    const h = await openCollectorDatabase(file, { busyTimeoutMs: 200 });
    try {
      const registry = new SourceRegistry(h);
      const holder = await holdSqliteWriteLock(file, 1_500);
      await holder.held;
      const err = await registry.add({ name: 'late' }).then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'SQLITE_BUSY' });
      expect(isDatabaseUnavailable(err)).toBe(true);
      await holder.done;
      expect(await registry.list()).toEqual([]);
      await registry.add({ name: 'late' });
      expect((await registry.list()).map((s) => s.source)).toEqual(['late']);
    } finally {
      await h.close();
    }
  });
});
