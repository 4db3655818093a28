/**
 * The store reads of the event streams (spec §18.10): one page of stored lines after a cursor,
 * bounded in rows and in bytes. A line may be as long as §3.1.1 allows (about 1 MiB), so a page
 * of 500 rows bounded in rows alone could hold 500 MiB; here a page holds at most `maxBytes` of
 * lines, or a single line when that one is longer.
 *
 * Two statements per page: the lengths of the next `maxRows` lines (the line bytes are not
 * read), then the lines of the prefix that fits. Stored rows never change, and a range of seqs
 * (or of ingest sequences below one already seen, ADR 0020) gains no rows between the two, so
 * the second returns exactly the rows the first measured.
 */
import { sql } from 'kysely';
import type { CollectorDatabase } from './database.js';

export interface Page<R> {
  rows: R[];
  /** The store may hold more rows after this page (it was cut by rows or by bytes). */
  more: boolean;
  /** The bytes of the lines in this page. */
  bytes: number;
}

/** How many of the rows (in order) fit in `maxBytes`, at least one. */
function fitting(lengths: readonly number[], maxBytes: number): { count: number; bytes: number } {
  let bytes = 0;
  let count = 0;
  for (const n of lengths) {
    if (count > 0 && bytes + n > maxBytes) break;
    bytes += n;
    count++;
  }
  return { count, bytes };
}

/** Lines of `source` after seq `after`. */
export async function sourcePage(handle: CollectorDatabase, source: string, after: number, maxRows: number, maxBytes: number): Promise<Page<{ seq: number; line: Buffer }>> {
  const { db } = handle;
  const sizes = await db
    .selectFrom('events')
    .select(['seq', sql<number>`length(line)`.as('n')])
    .where('source', '=', source)
    .where('seq', '>', after)
    .orderBy('seq')
    .limit(maxRows)
    .execute();
  if (sizes.length === 0) return { rows: [], more: false, bytes: 0 };
  const { count, bytes } = fitting(sizes.map((s) => Number(s.n)), maxBytes);
  const last = sizes[count - 1]!.seq;
  const rows = await db.selectFrom('events').select(['seq', 'line']).where('source', '=', source).where('seq', '>', after).where('seq', '<=', last).orderBy('seq').limit(count).execute();
  return { rows: rows.map((r) => ({ seq: r.seq, line: Buffer.from(r.line) })), more: count < sizes.length || sizes.length === maxRows, bytes };
}

/** Lines of every source after ingest sequence `after`. */
export async function fleetPage(handle: CollectorDatabase, after: number, maxRows: number, maxBytes: number): Promise<Page<{ ingest: number; source: string; seq: number; line: Buffer }>> {
  const { db } = handle;
  const sizes = await db
    .selectFrom('events')
    .select(['ingest', sql<number>`length(line)`.as('n')])
    .where('ingest', '>', after)
    .orderBy('ingest')
    .limit(maxRows)
    .execute();
  if (sizes.length === 0) return { rows: [], more: false, bytes: 0 };
  const { count, bytes } = fitting(sizes.map((s) => Number(s.n)), maxBytes);
  const last = sizes[count - 1]!.ingest;
  const rows = await db
    .selectFrom('events')
    .select(['ingest', 'source', 'seq', 'line'])
    .where('ingest', '>', after)
    .where('ingest', '<=', last)
    .orderBy('ingest')
    .limit(count)
    .execute();
  return { rows: rows.map((r) => ({ ingest: r.ingest, source: r.source, seq: r.seq, line: Buffer.from(r.line) })), more: count < sizes.length || sizes.length === maxRows, bytes };
}

/**
 * Up to `limit` lines of `source` from seq `from`, page by page (the JSONL read, §18.7): a
 * long range never holds more than one page.
 */
export async function* sourceLines(handle: CollectorDatabase, source: string, from: number, limit: number, maxRows = 1000, maxBytes = 4 << 20): AsyncGenerator<{ seq: number; line: Buffer }> {
  let after = from - 1;
  let left = limit;
  while (left > 0) {
    const page = await sourcePage(handle, source, after, Math.min(maxRows, left), maxBytes);
    for (const r of page.rows) yield r;
    left -= page.rows.length;
    if (!page.more || page.rows.length === 0) return;
    after = page.rows[page.rows.length - 1]!.seq;
  }
}
