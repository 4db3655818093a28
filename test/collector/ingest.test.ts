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

  it('stores each line byte for byte at its offset in the batch, multi-byte characters included, in seq order', async () => {
    const t = await startCollector(backend);
    try {
      // Lines of different lengths with 2-, 3- and 4-byte UTF-8 characters: offsets are bytes.
      const notes = ['é', 'ünïcödé ✓', '', '😀😀', 'x'.repeat(300), '中文', 'plain'];
      for (let i = 0; i < 40; i++) t.host.next({ payload: { n: i, note: notes[i % notes.length]!.repeat((i % 3) + 1) } });
      const r = await t.post(t.host.body(0));
      expect(r.json).toMatchObject({ accepted: 40, next: 40 });
      const stored = await t.collector.inject({ method: 'GET', url: `/v1/sources/${t.source}/events?from=0`, headers: { authorization: `Bearer ${t.token}` } });
      expect(stored.rawPayload.equals(Buffer.from(t.host.body(0)))).toBe(true);
      const byIngest = await t.collector.events.ingestedAfter(0, 100);
      expect(byIngest.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(byIngest.map((e) => e.line.toString('utf8'))).toEqual(t.host.lines);
    } finally {
      await t.close();
    }
  });
});
