// Sizes of the full run (1M-event rows; a few minutes on 2 cores) and of --quick (a smoke check).
export const FULL = {
  reps: 5, bigReps: 3, warmup: 1,
  size: {
    single: 2000, concurrent: 51_200, rawBatches: 50, batches: 50, signedBatches: 10, signLoop: 10_000,
    verifyEvents: 100_000, verifyLoop: 10_000, big: 1_000_000, opens: 10, hashes: 200_000, ceilingRows: 100_000,
    collectorBatches: 10, collectorMemoryEvents: 300_000, followEvents: 200,
    shipEvents: 100_000, shipLagSeconds: 10, sseEvents: 20_000,
  },
};

export const QUICK = {
  reps: 3, bigReps: 2, warmup: 1,
  size: {
    single: 200, concurrent: 5120, rawBatches: 10, batches: 10, signedBatches: 2, signLoop: 2000,
    verifyEvents: 5000, verifyLoop: 2000, big: 50_000, opens: 5, hashes: 100_000, ceilingRows: 10_000,
    collectorBatches: 3, collectorMemoryEvents: 20_000, followEvents: 50,
    shipEvents: 10_000, shipLagSeconds: 5, sseEvents: 5000,
  },
};

/** Rows in the order of the table; `memory` builds the ledger the next three read. */
export const TABLE_ORDER = ['single', 'single-worker', 'concurrent', 'concurrent-worker', 'batch', 'batch-worker', 'signed', 'signed-worker', 'verify', 'replay', 'parity', 'open', 'proof', 'memory', 'follow', 'sha256', 'collector-pg', 'collector-sqlite', 'collector-memory', 'collector-pg-lock', 'ship-backlog', 'ship-lag', 'sse-fanout'];
export const RUN_ORDER = ['sha256', 'single', 'single-worker', 'concurrent', 'concurrent-worker', 'batch', 'batch-worker', 'signed', 'signed-worker', 'verify', 'memory', 'replay', 'parity', 'open', 'proof', 'follow', 'collector-pg', 'collector-sqlite', 'collector-memory', 'collector-pg-lock', 'ship-backlog', 'ship-lag', 'sse-fanout'];
export const NEEDS_BIG = new Set(['replay', 'parity', 'open', 'proof']);
