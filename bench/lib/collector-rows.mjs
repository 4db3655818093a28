// Collector rows (issue 14 "Performance"): ingest of 1,000-line signed batches over loopback
// into PostgreSQL and SQLite, events/s and p99 batch latency, next to the smaller of two bounds
// measured in the same run: (a) the node:crypto Ed25519 verify loop x cores (verification) and
// (b) a raw loop inserting the same rows, 1,000 per transaction, with nothing else (storage:
// one multi-row INSERT per batch through `pg`; a prepared INSERT per row with better-sqlite3).
// And RSS while ingesting a long stream of batches: it must stay flat.
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { GENESIS_PREV, generateSigningKey } from '../../dist/index.js';
import { createCollector } from '../../dist/collector/index.js';
import { sharedChunks } from '../../dist/collector/chunk-plan.js';
import { ed25519Material, nodeVerifyLoop } from './baselines.mjs';
import { parallelVerifyLoop } from './parallel-verify.mjs';
import { chainLines } from './chain-lines.mjs';
import { collectorLockRow } from './collector-lock-row.mjs';
import { median, pair, rate, slope } from './measure.mjs';
import { postBatch } from './collector-post.mjs';
import { createBenchDatabase, startBenchCluster } from './pg-cluster.mjs';
import { startCollectorProcess } from './collector-process.mjs';

const BATCH = 1000;

/**
 * Seconds per event of a batch cut into `shares` (fractions of it), pipelined as ADR 0027 says:
 * the workers check the chunks back to back (chunk k done at the sum of shares up to k, over V);
 * chunk k is stored once it is checked and chunk k-1 is stored.
 */
function chunkedBatchTime(shares, V, S) {
  let checked = 0;
  let stored = 0;
  for (const f of shares) {
    checked += f / V;
    stored = Math.max(checked, stored) + f / S;
  }
  return stored;
}


function p99(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)];
}


/** Rows as the collector stores them, for the raw storage loops. */
function rowsOf(lines) {
  return lines.map((l) => {
    const e = JSON.parse(l);
    return { seq: e.seq, id: e.id, hash: e.hash, at: e.at, line: Buffer.from(l) };
  });
}

/** One batch as a multi-row INSERT: 7 bound parameters per row. */
function multiRowInsert(table, rows) {
  const params = [];
  const values = rows.map((r, i) => {
    params.push('raw', r.seq, r.id, r.hash, r.at, r.line, '2026-01-01T00:00:00Z');
    const b = i * 7;
    return `($${b + 1},$${b + 2},$${b + 3},$${b + 4},$${b + 5},$${b + 6},$${b + 7})`;
  });
  return [`INSERT INTO ${table} (source, seq, id, hash, at, line, received_at) VALUES ${values.join(',')}`, params];
}

/** One batch as one INSERT ... SELECT FROM unnest(arrays): 7 bound parameters in all. */
function unnestInsert(table, rows) {
  return [
    `INSERT INTO ${table} (source, seq, id, hash, at, line, received_at)
     SELECT 'raw', u.seq, u.id, u.hash, u.at, u.line, $6 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bytea[]) AS u(seq, id, hash, at, line)`,
    [rows.map((r) => r.seq), rows.map((r) => r.id), rows.map((r) => r.hash), rows.map((r) => r.at), rows.map((r) => r.line), '2026-01-01T00:00:00Z'],
  ];
}

// The storage bound is the faster of two raw statement shapes, so that it is not beaten merely
// because the collector picked a cheaper shape than the bound did.
async function rawPgInserts(url, table, batches, statement = multiRowInsert) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE ${table} (ingest bigserial PRIMARY KEY, source text NOT NULL, seq bigint NOT NULL, id text NOT NULL,
      hash text NOT NULL, at text NOT NULL, line bytea NOT NULL, received_at text NOT NULL, UNIQUE (source, seq), UNIQUE (source, id))`);
    const n = batches.length * BATCH;
    return await rate(n, async () => {
      for (const rows of batches) {
        await client.query('BEGIN');
        await client.query(...statement(table, rows));
        await client.query('COMMIT');
      }
    });
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await client.end();
  }
}

async function rawSqliteInserts(file, batches) {
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE events (ingest INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
      hash TEXT NOT NULL, at TEXT NOT NULL, line BLOB NOT NULL, received_at TEXT NOT NULL, UNIQUE (source, seq), UNIQUE (source, id))`);
    const insert = db.prepare('INSERT INTO events (source, seq, id, hash, at, line, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const tx = db.transaction((rows) => {
      for (const r of rows) insert.run('raw', r.seq, r.id, r.hash, r.at, r.line, '2026-01-01T00:00:00Z');
    });
    return await rate(batches.length * BATCH, () => {
      for (const rows of batches) tx(rows);
    });
  } finally {
    db.close();
  }
}

async function ingestRow(ctx, backend) {
  const cluster = backend === 'postgres' ? await startBenchCluster() : undefined;
  try {
    const db = cluster ? await createBenchDatabase(cluster.url, 'collector_bench') : path.join(ctx.tmp, 'collector.sqlite');
    const nBatches = ctx.size.collectorBatches;
    const key = generateSigningKey({ name: 'bench-host' });
    const { lines } = chainLines(nBatches * BATCH, key);
    const bodies = [];
    for (let i = 0; i < lines.length; i += BATCH) bodies.push(lines.slice(i, i + BATCH).map((l) => l + '\n').join(''));
    const rowBatches = [];
    for (let i = 0; i < lines.length; i += BATCH) rowBatches.push(rowsOf(lines.slice(i, i + BATCH)));
    const collector = await createCollector({ db, rateLimit: false });
    const url = await collector.listen();
    const cores = os.availableParallelism();
    const material = ed25519Material();
    const latencies = [];
    const bounds = [];
    const twoStreams = [];
    try {
      const r = await pair({
        warmup: ctx.warmup,
        reps: ctx.reps,
        baseline: async (rep) => {
          const verifyOneThreadXCores = (await nodeVerifyLoop(material, ctx.size.verifyLoop)) * cores;
          const verifyBound = await parallelVerifyLoop(cores, Math.ceil(ctx.size.verifyLoop / cores));
          const storageBound = cluster
            ? Math.max(await rawPgInserts(db, `raw_events_${rep}`, rowBatches), await rawPgInserts(db, `raw_unnest_${rep}`, rowBatches, unnestInsert))
            : await rawSqliteInserts(path.join(ctx.tmp, `raw-${rep}.sqlite`), rowBatches);
          if (rep >= ctx.warmup) bounds.push({ verifyBound, verifyOneThreadXCores, storageBound });
          return Math.min(verifyBound, storageBound);
        },
        figure: async (rep) => {
          const add = async (source) => (await collector.sources.add({ name: source, eventKeys: [{ kid: key.kid, name: key.name, publicKey: key.publicKey }], requireSignatures: true })).token;
          const token = await add(`bench-${rep}`);
          const one = await rate(lines.length, async () => {
            for (const body of bodies) {
              const t = process.hrtime.bigint();
              await postBatch(url, `bench-${rep}`, token, body);
              if (rep >= ctx.warmup) latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
            }
          });
          // Two hosts shipping at once: one batch verifies while the other is stored.
          const tokens = [await add(`pair-a-${rep}`), await add(`pair-b-${rep}`)];
          const two = await rate(2 * lines.length, () =>
            Promise.all(['a', 'b'].map(async (x, i) => {
              for (const body of bodies) await postBatch(url, `pair-${x}-${rep}`, tokens[i], body);
            })),
          );
          if (rep >= ctx.warmup) twoStreams.push(two);
          return one;
        },
      });
      const V = median(bounds.map((b) => b.verifyBound));
      const S = median(bounds.map((b) => b.storageBound));
      const V1 = median(bounds.map((b) => b.verifyOneThreadXCores));
      return {
        figure: r.figure, baseline: r.baseline, unit: 'events/s', baselineUnit: 'events/s',
        baselineLabel: `min(Ed25519 verify loop on ${cores} threads at once, raw ${cluster ? 'pg INSERT loop (best of multi-row and unnest)' : 'better-sqlite3 INSERT loop'}, 1,000 rows/tx)`,
        target: { kind: 'ratio', min: 0.5, text: '>= 0.5x' },
        samples: r,
        // One shipper keeps one batch in flight. On PostgreSQL the batch is checked in the
        // chunks of sharedChunks (ADR 0027, 0034), chunk k+1 while chunk k is stored
        // (chunkedBatchTime), if the cores were not shared by both halves (they are: the verify
        // bound uses every core). On SQLite a batch is verified, then stored:
        // 1/(1/V + 1/S).
        ceiling: cluster
          ? { ratio: 1 / chunkedBatchTime(sharedChunks()(BATCH).map((n) => n / BATCH), V, S) / Math.min(V, S), design: `chunk k+1 verified while chunk k is stored (chunks ${sharedChunks()(BATCH).join('/')}), cores not shared` }
          : { ratio: 1 / (1 / V + 1 / S) / Math.min(V, S), design: 'verify, then store, one batch in flight' },
        extra: {
          batches: nBatches, batchLines: BATCH, p99BatchMs: +p99(latencies).toFixed(1), medianBatchMs: +median(latencies).toFixed(1),
          verifyBound: Math.round(V), storageBound: Math.round(S), verifyOneThreadXCores: Math.round(V1),
          ratioToOneThreadXCores: +(r.figure / Math.min(V1, S)).toFixed(2),
          twoSourcesAtOnce: Math.round(median(twoStreams)), twoSourcesRatio: +(median(twoStreams) / r.baseline).toFixed(2),
        },
      };
    } finally {
      await collector.close();
    }
  } finally {
    cluster?.stop();
  }
}

export const COLLECTOR_ROWS = {
  'collector-pg-lock': {
    title: 'collector storage half of ingest on PostgreSQL, 4 sources at once, with the ingest-order lock (ADR 0020)',
    run: collectorLockRow,
  },
  'collector-pg': {
    title: 'collector ingest, 1,000-line signed batches over loopback into PostgreSQL',
    run: (ctx) => ingestRow(ctx, 'postgres'),
  },
  'collector-sqlite': {
    title: 'collector ingest, 1,000-line signed batches over loopback into SQLite',
    run: (ctx) => ingestRow(ctx, 'sqlite'),
  },
  'collector-memory': {
    title: 'collector RSS growth over a long ingest into PostgreSQL, the collector in its own process (after the first 20%)',
    async run(ctx) {
      const cluster = await startBenchCluster();
      try {
        const db = await createBenchDatabase(cluster.url, 'collector_memory');
        // The collector runs in its own process, as deployed: in the bench's process its RSS
        // would also hold the client's (fetch, the generated batches), which is not the
        // collector's. --expose-gc so that each sample follows a full collection of its heap.
        const collector = await startCollectorProcess(db, { execArgv: ['--expose-gc'] });
        const token = await collector.addSource({ name: 'long' });
        const total = ctx.size.collectorMemoryEvents;
        const samples = [];
        let start = { seq: 0, prev: GENESIS_PREV };
        const t0 = process.hrtime.bigint();
        try {
          // Unsigned lines: generating a signature per event would dominate the run; the ingest
          // path (parse, seal, chain, insert, respond) is the same.
          for (let done = 0; done < total; done += BATCH) {
            const { lines, prev } = chainLines(BATCH, undefined, start);
            start = { seq: start.seq + BATCH, prev };
            await postBatch(collector.url, 'long', token, lines.map((l) => l + '\n').join(''));
            if ((done / BATCH) % Math.max(1, Math.floor(total / BATCH / 20)) === 0) {
              const m = await collector.memory();
              if (!m.gcExposed) throw new Error('collector-memory: the collector process has no gc()');
              samples.push({ events: done + BATCH, rssMiB: +(m.rss / 2 ** 20).toFixed(1), heapMiB: +(m.heapUsed / 2 ** 20).toFixed(1), clientRssMiB: +(process.memoryUsage().rss / 2 ** 20).toFixed(1) });
            }
          }
        } finally {
          await collector.stop();
        }
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const after20 = samples.filter((s) => s.events >= total * 0.2);
        const growth = after20.at(-1).rssMiB - after20[0].rssMiB;
        const rssAfter20 = after20.map((s) => s.rssMiB);
        return {
          figure: +growth.toFixed(1), baseline: null, unit: 'MiB', target: { kind: 'max', max: 32, text: '<= 32 MiB (flat)' },
          extra: {
            events: total, eventsPerSecond: Math.round(total / seconds),
            // Flat means no trend: the least-squares slope over the samples after the first 20%,
            // and how far they spread, next to every sample.
            slopeMiBPer100kEvents: +(slope(after20.map((s) => [s.events, s.rssMiB])) * 1e5).toFixed(2),
            rssRangeAfter20MiB: [Math.min(...rssAfter20), Math.max(...rssAfter20)],
            // The collector's main-thread JS heap after a GC: what it keeps, without the
            // allocator's and the pool's slack in RSS (its check workers are in RSS only).
            heapSlopeMiBPer100kEvents: +(slope(after20.map((s) => [s.events, s.heapMiB])) * 1e5).toFixed(2),
            heapRangeAfter20MiB: [Math.min(...after20.map((s) => s.heapMiB)), Math.max(...after20.map((s) => s.heapMiB))],
            rssMiB: samples.map((s) => s.rssMiB),
            heapMiB: samples.map((s) => s.heapMiB),
            // The bench's own process (the client), for comparison with runs before ADR 0041.
            clientRssMiB: samples.map((s) => s.clientRssMiB),
          },
        };
      } finally {
        cluster.stop();
      }
    },
  },
};
