// spec §18.3: ingest of events.jsonl lines, on both backends.
import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS, removeTempDirs, startCollector } from './support.js';

afterAll(removeTempDirs);

describe.each(BACKENDS)('ingest on %s', (backend) => {
  it('accepts a batch, reports head and next, and counts a resend as duplicates', async () => {
    const t = await startCollector(backend);
    try {
      t.host.append(5);
      const r1 = await t.post(t.host.body(0));
      expect(r1.status).toBe(200);
      expect(r1.json).toEqual({ accepted: 5, duplicates: 0, next: 5, head: { seq: 4, hash: t.host.hashes[4] } });
      const r2 = await t.post(t.host.body(0));
      expect(r2.json).toEqual({ accepted: 0, duplicates: 5, next: 5, head: { seq: 4, hash: t.host.hashes[4] } });
      t.host.append(3);
      const r3 = await t.post(t.host.body(3));
      expect(r3.json).toMatchObject({ accepted: 3, duplicates: 2, next: 8 });
      const stored = await t.collector.inject({ method: 'GET', url: `/v1/sources/${t.source}/events?from=0`, headers: { authorization: `Bearer ${t.token}` } });
      expect(stored.statusCode).toBe(200);
      expect(stored.body).toBe(t.host.body(0));
    } finally {
      await t.close();
    }
  });
});
