// spec §18.6.1, §18.10: a stream on one collector process wakes when another process commits to
// the same SQLite file, through the watch of the file's -wal, well before the safety-net poll
// (set to 60 s here, so a wake by poll would fail the test). The other process is a real
// `sealed-ledger collector` started from dist/.
import { afterAll, describe, expect, it } from 'vitest';
import { post, spawnCollector } from './processes.js';
import { SseReader } from './stream-client.js';
import { newDatabase, removeTempDirs, startCollector } from './support.js';

afterAll(removeTempDirs);

describe('event streams on a SQLite file shared by two collector processes', () => {
  it("a stream follows the other process's commits in well under the poll interval", { timeout: 120_000 }, async () => {
    const db = await newDatabase('sqlite', 'wake');
    const a = await startCollector('sqlite', { db, options: { stream: { pollMs: 60_000, heartbeatMs: 60_000 } } });
    const urlA = await a.collector.listen();
    const b = await spawnCollector(db);
    const reader = new SseReader(`${urlA}/v1/sources/host-a/events?follow=1`, { authorization: `Bearer ${a.token}` });
    try {
      await reader.until(() => reader.retry !== undefined);
      const latencies: number[] = [];
      for (let round = 0; round < 5; round++) {
        const from = a.host.lines.length;
        a.host.append(5);
        // Wait a little between rounds so that each is a separate commit after a quiet spell.
        await new Promise((r) => setTimeout(r, 100));
        const r = await post(b.url, 'host-a', a.token, a.host.body(from));
        expect(r.status).toBe(200);
        const committed = performance.now();
        await reader.until(() => reader.events.length === a.host.lines.length, 30_000);
        latencies.push(performance.now() - committed);
      }
      expect(reader.events.map((e) => e.data)).toEqual(a.host.lines);
      console.log(`cross-process follow latency (ms): ${latencies.map((l) => l.toFixed(0)).join(', ')}`);
      // The default poll is 2 s; every wake here came from the watch.
      for (const l of latencies) expect(l).toBeLessThan(1_000);
    } finally {
      reader.close();
      b.child.kill('SIGTERM');
      await b.exited;
      await a.close();
    }
  });
});
