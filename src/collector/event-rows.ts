/**
 * The two statements of an ingest batch that touch every line (spec §18.3): which ids of the
 * batch are already used, and the insert of the new rows. Each is one statement with a handful
 * of parameters on both engines, not one bound parameter per column per row: a 1,000-row
 * multi-row INSERT binds 7,000 parameters, and building, sending and parsing them cost more than
 * the rows themselves (measured in bench/lib/collector-rows.mjs). The lines travel as one byte
 * string with offsets, so a line is stored byte for byte as it was checked.
 */
import { sql, type Transaction } from 'kysely';
import type { CheckedLine } from './batch-lines.js';
import type { DialectName } from './database.js';
import type { CollectorSchema } from './schema.js';

/** Stored (id, seq) of `source` among the ids of `lines`. */
export async function usedIdsOf(trx: Transaction<CollectorSchema>, dialect: DialectName, source: string, lines: readonly CheckedLine[]): Promise<{ id: string; seq: number }[]> {
  const ids = lines.map((l) => l.id);
  const q =
    dialect === 'postgres'
      ? sql<{ id: string; seq: number }>`SELECT id, seq FROM events WHERE source = ${source} AND id = ANY(${ids}::text[])`
      : sql<{ id: string; seq: number }>`SELECT id, seq FROM events WHERE source = ${source} AND id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
  return (await q.execute(trx)).rows;
}

/**
 * Inserts `lines` in their order (the ingest sequence follows it), all received at `receivedAt`.
 * Precondition: the caller holds the head row's lock and has checked the chain.
 */
export async function insertEvents(trx: Transaction<CollectorSchema>, dialect: DialectName, source: string, lines: readonly CheckedLine[], receivedAt: string): Promise<void> {
  const bytes = Buffer.concat(lines.map((l) => l.bytes));
  const offsets: number[] = [];
  let at = 0;
  for (const l of lines) {
    offsets.push(at);
    at += l.bytes.length;
  }
  if (dialect === 'postgres') {
    // substring() counts from 1; WITH ORDINALITY + ORDER BY pins the insert (and ingest) order.
    await sql`INSERT INTO events (source, seq, id, hash, at, line, received_at)
      SELECT ${source}, u.seq, u.id, u.hash, u.at, substring(${bytes}::bytea FROM u.off + 1 FOR u.len), ${receivedAt}
      FROM unnest(${lines.map((l) => l.seq)}::bigint[], ${lines.map((l) => l.id)}::text[], ${lines.map((l) => l.hash)}::text[],
        ${lines.map((l) => l.at)}::text[], ${offsets}::int[], ${lines.map((l) => l.bytes.length)}::int[])
        WITH ORDINALITY AS u(seq, id, hash, at, off, len, n)
      ORDER BY u.n`.execute(trx);
    return;
  }
  // SQLite: the rows as one JSON array; substr() of a BLOB counts bytes from 1.
  const rows = JSON.stringify(lines.map((l, i) => [l.seq, l.id, l.hash, l.at, offsets[i]! + 1, l.bytes.length]));
  await sql`INSERT INTO events (source, seq, id, hash, at, line, received_at)
    SELECT ${source}, r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, substr(${bytes}, r.value ->> 4, r.value ->> 5), ${receivedAt}
    FROM json_each(${rows}) AS r ORDER BY r.key`.execute(trx);
}
