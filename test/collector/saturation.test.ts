// spec §18.5: 429 RATE_LIMITED with Retry-After when the PostgreSQL pool is saturated. The pool
// is made busy for real: another session holds the source's head row lock, so the first batch
// holds the collector's one connection inside its transaction, the second waits for it, and the
// third is refused at once, before it would queue for a connection to authenticate.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { post } from './processes.js';
import { removeTempDirs, startCollector } from './support.js';

afterAll(removeTempDirs);

describe('a saturated PostgreSQL pool', () => {
  it('answers 429 with Retry-After while batches wait for the pool, and serves them when it frees', { timeout: 60_000 }, async () => {
    const t = await startCollector('postgres', { options: { poolSize: 1, maxPoolWaiting: 1, retryAfterSeconds: 3, verifyWorkers: 0 } });
    const holder = new pg.Client({ connectionString: t.db });
    await holder.connect();
    try {
      const url = await t.collector.listen();
      t.host.append(30);
      await holder.query('BEGIN');
      await holder.query('SELECT seq FROM heads WHERE source = $1 FOR UPDATE', [t.source]);

      const first = post(url, t.source, t.token, t.host.body(0, 10));
      await until(() => t.collector.database.pool!.totalCount === 1 && t.collector.database.pool!.idleCount === 0 && t.collector.inFlight === 1);
      await lockWaiters(holder, 1);
      const second = post(url, t.source, t.token, t.host.body(10, 20));
      await until(() => t.collector.database.pool!.waitingCount === 1);

      const refused = await post(url, t.source, t.token, t.host.body(20, 30));
      expect([refused.status, refused.json.code, refused.retryAfter]).toEqual([429, 'RATE_LIMITED', '3']);
      expect(refused.json.message).toMatch(/pool is saturated/);
      // Refused before authentication: even a request with no valid token is not queued.
      const anonymous = await post(url, t.source, 'not-a-token', t.host.body(20, 30));
      expect(anonymous.status).toBe(429);

      await holder.query('COMMIT');
      const [a, b] = await Promise.all([first, second]);
      expect([a.status, a.json.accepted, b.status, b.json.accepted]).toEqual([200, 10, 200, 10]);
      // Once the pool is free the refused batch goes through.
      const again = await post(url, t.source, t.token, t.host.body(20, 30));
      expect([again.status, again.json.accepted, again.json.next]).toEqual([200, 10, 30]);
      const metrics = (await t.collector.inject('/metrics')).body;
      expect(metrics).toMatch(/events_rejected_total\{source="",code="RATE_LIMITED"\} 2/);
    } finally {
      await holder.end().catch(() => undefined);
      await t.close();
    }
  });
});

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until `n` other sessions are blocked on a lock (the first batch inside its transaction). */
async function lockWaiters(client: pg.Client, n: number): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    const r = await client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`);
    if (r.rows[0].n >= n) return;
    if (Date.now() > end) throw new Error('the first batch never blocked on the head row lock');
    await new Promise((res) => setTimeout(res, 20));
  }
}
