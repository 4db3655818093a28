// What ADR 0020's ingest-order lock costs on PostgreSQL: several sources appending 1,000-line
// batches at once through the collector's EventStore (the transaction of an ingest batch: head
// row lock, chain checks, insert, head update, commit), with the advisory lock and, in the same
// repetitions, without it. Lines are checked once up front: the lock serialises only the
// storage half of ingest, so verification would only dilute the figure.
import { GENESIS_PREV } from '../../dist/index.js';
import { checkBatchLines, lineLimits } from '../../dist/collector/batch-lines.js';
import { openCollectorDatabase } from '../../dist/collector/database.js';
import { EventStore } from '../../dist/collector/event-store.js';
import { SourceRegistry } from '../../dist/collector/sources.js';
import { chainLines } from './chain-lines.mjs';
import { pair, rate } from './measure.mjs';
import { createBenchDatabase, startBenchCluster } from './pg-cluster.mjs';

const BATCH = 1000;
const STREAMS = 4;

export async function collectorLockRow(ctx) {
  const cluster = await startBenchCluster();
  try {
    const handle = await openCollectorDatabase(await createBenchDatabase(cluster.url, 'collector_lock'), { poolSize: STREAMS + 2 });
    try {
      const nBatches = ctx.size.collectorBatches;
      const { lines } = chainLines(nBatches * BATCH, undefined, { seq: 0, prev: GENESIS_PREV });
      const batches = [];
      for (let i = 0; i < lines.length; i += BATCH) {
        const body = Buffer.from(lines.slice(i, i + BATCH).map((l) => l + '\n').join(''));
        batches.push(checkBatchLines(body, { keyring: undefined, requireSignatures: false, limits: lineLimits() }).lines);
      }
      const sources = new SourceRegistry(handle);
      const stores = { locked: new EventStore(handle), unlocked: new EventStore(handle, undefined, { ingestOrderLock: false }) };
      // Each stream is its own source with its own copy of the chain, as hosts of a fleet are.
      const run = async (store, tag) => {
        const names = Array.from({ length: STREAMS }, (_, i) => `${tag}-${i}`);
        for (const name of names) await sources.add({ name });
        return rate(STREAMS * lines.length, () =>
          Promise.all(names.map(async (name) => {
            for (const b of batches) {
              const o = await store.append(name, b);
              if (o?.accepted !== BATCH) throw new Error(`append into ${name}: ${JSON.stringify(o)}`);
            }
          })),
        );
      };
      const r = await pair({
        warmup: ctx.warmup,
        reps: ctx.reps,
        baseline: (rep) => run(stores.unlocked, `free-${rep}`),
        figure: (rep) => run(stores.locked, `lock-${rep}`),
      });
      return {
        figure: r.figure, baseline: r.baseline, unit: 'events/s', baselineUnit: 'events/s',
        baselineLabel: `the same ${STREAMS} streams without the advisory lock`,
        target: { kind: 'info', text: 'measured (ADR 0020)' },
        samples: r,
        extra: { streams: STREAMS, batchesPerStream: nBatches, batchLines: BATCH },
      };
    } finally {
      await handle.close();
    }
  } finally {
    cluster.stop();
  }
}
