// spec §18.10: a stream's store read is bounded in bytes as well as rows, so a page of long lines
// (up to the §3.1.1 limit each) never holds pageSize × 1 MiB. Both backends, both streams, over
// real TCP; lines of about 300 KB and one of 1 MB, a 512 KiB page bound, 500 rows a page.
import { afterAll, describe, expect, it } from 'vitest';
import { fleetPage, sourcePage } from '../../src/collector/stream-pages.js';
import { BACKENDS, removeTempDirs, startCollector } from './support.js';
import { SseReader } from './stream-client.js';

afterAll(removeTempDirs);

const PAGE_BYTES = 512 * 1024;

describe.each(BACKENDS)('stream pages bounded in bytes on %s', (backend) => {
  it('delivers every long line once, in order, reading at most pageBytes of lines (or one line) per store read', async () => {
    const t = await startCollector(backend, { options: { adminToken: 'admin-secret', stream: { pageSize: 500, pageBytes: PAGE_BYTES, pollMs: 5_000 } } });
    const url = await t.collector.listen();
    const readers: SseReader[] = [];
    try {
      // Mostly ~300 KB lines, one of ~1 MB (longer than a page), a few short ones between.
      const sizes = [300, 300, 300, 2, 300, 300, 1_000, 300, 1, 300, 300, 300, 300, 300, 3, 300];
      for (const kb of sizes) t.host.next({ payload: { blob: 'x'.repeat(kb * 1000), kb } });
      for (let i = 0; i < sizes.length; i += 4) expect((await t.post(t.host.body(i, i + 4))).status).toBe(200);
      const total = t.host.lines.reduce((a, l) => a + Buffer.byteLength(l), 0);
      const longest = Math.max(...t.host.lines.map((l) => Buffer.byteLength(l)));
      expect(longest).toBeGreaterThan(PAGE_BYTES);

      const src = new SseReader(`${url}/v1/sources/host-a/events?follow=1`, { authorization: `Bearer ${t.token}` });
      const fleet = new SseReader(`${url}/v1/events?follow=1`, { authorization: 'Bearer admin-secret' });
      readers.push(src, fleet);
      await src.until(() => src.events.length === sizes.length);
      await fleet.until(() => fleet.events.length === sizes.length);
      expect(src.events.map((e) => e.data)).toEqual(t.host.lines);
      expect(src.events.map((e) => e.id)).toEqual(t.host.lines.map((_, i) => String(i)));
      expect(fleet.events.map((e) => (JSON.parse(e.data) as { line: string }).line)).toEqual(t.host.lines);
      // Before: one read of up to 500 rows returned all ~5.8 MB at once.
      expect(total).toBeGreaterThan(8 * PAGE_BYTES);
      expect(t.collector.streams.stats.largestPageBytes).toBeGreaterThan(0);
      expect(t.collector.streams.stats.largestPageBytes).toBeLessThanOrEqual(Math.max(PAGE_BYTES, longest));

      // The page reads themselves: each within the bound, together the whole chain, `more` until the end.
      for (const read of [
        (after: number) => sourcePage(t.collector.database, 'host-a', after, 500, PAGE_BYTES).then((p) => ({ ...p, ids: p.rows.map((r) => r.seq), lines: p.rows.map((r) => r.line) })),
        (after: number) => fleetPage(t.collector.database, after, 500, PAGE_BYTES).then((p) => ({ ...p, ids: p.rows.map((r) => r.ingest), lines: p.rows.map((r) => r.line) })),
      ]) {
        let after = -1;
        const got: Buffer[] = [];
        let pages = 0;
        for (;;) {
          const p = await read(after);
          pages++;
          const bytes = p.lines.reduce((a, l) => a + l.length, 0);
          expect(bytes).toBe(p.bytes);
          expect(p.rows.length === 1 || bytes <= PAGE_BYTES).toBe(true);
          got.push(...p.lines);
          if (p.rows.length > 0) after = p.ids[p.ids.length - 1]!;
          if (!p.more) break;
        }
        expect(pages).toBeGreaterThanOrEqual(9);
        expect(got.map((b) => b.toString('utf8'))).toEqual(t.host.lines);
      }
      // Bounded in rows too.
      const two = await sourcePage(t.collector.database, 'host-a', 2, 2, PAGE_BYTES * 8);
      expect(two.rows.map((r) => r.seq)).toEqual([3, 4]);
      expect(two.more).toBe(true);
      const end = await sourcePage(t.collector.database, 'host-a', sizes.length - 2, 500, PAGE_BYTES);
      expect(end.rows.map((r) => r.seq)).toEqual([sizes.length - 1]);
      expect(end.more).toBe(false);
    } finally {
      for (const r of readers) r.close();
      await t.close();
    }
  });
});
