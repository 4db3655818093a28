// The ceiling column of the append rows: the best ratio their design could reach if writing
// ledger.db's rows were all it did beside the baseline's own work. What the rows of one event
// cost is measured in the same run, as raw better-sqlite3 loops on the migrated schema.
import os from 'node:os';
import path from 'node:path';
import { eventRowInserter, openDb, rawSqliteInserts, removeDb } from './baselines.mjs';
import { freshLedgerDb } from './ledger-schema.mjs';
import { median, rate } from './measure.mjs';

/** projectionLagMs's default (spec §13.7): how long a writer holds its transaction open. */
const DEFAULT_PROJECTION_LAG_MS = 5;

/**
 * What a single awaited append adds to its fdatasync in ledger.db (spec §13.7): its event row,
 * the Merkle node rows it completes and the watermark update go into a held transaction, which
 * is committed once per `lagMs` window. Counted optimistically: a window holds as many appends
 * as the raw write + fdatasync loop (`baselineRate`) would make in it; at the ledger's own,
 * lower rate each commit is shared by fewer rows. Rows per second of a fresh copy of ledger.db.
 */
async function heldTransactionRows(file, n, sampleLine, baselineRate, lagMs = DEFAULT_PROJECTION_LAG_MS) {
  await freshLedgerDb(file);
  const db = openDb(file, { fresh: false });
  try {
    const insertRow = eventRowInserter(db, sampleLine);
    const insertNode = db.prepare('INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)');
    const setWatermark = db.prepare('UPDATE watermark SET seq = ?, hash = ?, offset = ?, line_start = ? WHERE id = 1');
    const hash = Buffer.alloc(32, 0xab);
    const step = Buffer.byteLength(sampleLine) + 1;
    const perCommit = Math.max(1, Math.round((baselineRate * lagMs) / 1000));
    return await rate(n, () => {
      for (let i = 0; i < n; i++) {
        if (i % perCommit === 0) db.exec('BEGIN IMMEDIATE');
        insertRow(i);
        // Leaf i completes one node per trailing 1 bit of i (levels 1 and up).
        for (let level = 1; (i + 1) % 2 ** level === 0; level++) insertNode.run(level, (i + 1) / 2 ** level - 1, hash);
        setWatermark.run(i, 'ab'.repeat(32), (i + 1) * step, i * step);
        if (i % perCommit === perCommit - 1 || i === n - 1) db.exec('COMMIT');
      }
    });
  } finally {
    removeDb(db, file);
  }
}

/**
 * The rows' SQLite work at R rows/s next to the row's baseline at B ops/s. With the rows on the
 * appending thread the two costs add up: R/(B+R); with the rows on the projection worker (a
 * second, free core) the best is min(1, R/B). Each row is judged by its own design: `worker`
 * picks the second. `heldTransaction` (single awaited appends) measures R as those appends
 * write ledger.db, one held transaction per window; otherwise R is the raw prepared INSERT
 * loop of event rows into the migrated events table in one transaction (no Merkle nodes, no
 * watermark, no commit per batch: an optimistic floor for batches and 256 concurrent appenders).
 *
 * `signed` (the baseline is one core's sign loop): signatures may be made on every core (the
 * signing threads and the appending thread share them, ADR 0039) while the rows go in on one
 * thread beside them (staged, ADR 0043, or on the projection worker), so an event costs at
 * least max(1/R, (1/B + 1/R) / cores): the ratio is (1/B) over that.
 */
export async function appendCeiling(ctx, sampleLine, baselineRate, { worker, heldTransaction, signed = false }) {
  const file = path.join(ctx.tmp, 'ceiling.db');
  const rates = [];
  for (let i = 0; i < ctx.reps; i++) {
    rates.push(heldTransaction ? await heldTransactionRows(file, ctx.size.ceilingRows, sampleLine, baselineRate) : await rawSqliteInserts(file, ctx.size.ceilingRows, sampleLine));
  }
  const R = median(rates);
  const B = baselineRate;
  const oneThread = R / (B + R);
  const twoThreads = Math.min(1, R / B);
  const cores = os.availableParallelism();
  const shared = 1 / B / Math.max(1 / R, (1 / B + 1 / R) / cores);
  const rows = heldTransaction
    ? `event row + its Merkle node rows + watermark per append, one COMMIT per ${DEFAULT_PROJECTION_LAG_MS} ms window (spec §13.7)`
    : 'raw prepared INSERT of event rows into the migrated events table, one transaction, no Merkle nodes';
  if (signed) {
    return {
      ratio: +shared.toFixed(3),
      design: `signatures on all ${cores} cores, rows on one thread beside them (${worker ? 'the projection worker' : 'staged by the appending thread, ADR 0043'})`,
      assumes: `the baseline's signatures spread over every core and ledger.db's rows on one thread, nothing else (no sealing, JSONL encoding, hand-off or event-loop turns); rows: ${rows}`,
      sqliteRowsPerSecond: Math.round(R),
      oneThread: +oneThread.toFixed(3),
      twoThreads: +twoThreads.toFixed(3),
    };
  }
  return {
    ratio: +(worker ? twoThreads : oneThread).toFixed(3),
    design: worker ? 'rows on the projection worker, a free core' : 'rows on the appending thread',
    assumes: `the baseline's work plus ledger.db's rows and nothing else (no sealing, JSONL encoding, hand-off or event-loop turns); rows: ${rows}`,
    sqliteRowsPerSecond: Math.round(R),
    oneThread: +oneThread.toFixed(3),
    twoThreads: +twoThreads.toFixed(3),
  };
}
