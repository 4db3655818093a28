/**
 * The collector's Prometheus metrics (spec §18.7), in a registry of its own so that several
 * collectors in one process (tests, embedding) do not collide. Per-source heads are read from
 * the database at scrape time: with several processes on one database, each reports the truth.
 */
import client from 'prom-client';
import type { CollectorDatabase } from './database.js';

export interface CollectorMetrics {
  registry: client.Registry;
  accepted: client.Counter<'source'>;
  duplicates: client.Counter<'source'>;
  rejected: client.Counter<'source' | 'code'>;
  forks: client.Counter<'source' | 'kind'>;
  batchSeconds: client.Histogram<'outcome'>;
  cosignaturesIssued: client.Counter<'source'>;
}

const P = 'sealed_ledger_collector_';

export function createMetrics(handle: CollectorDatabase): CollectorMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: P });
  const registers = [registry];
  const metrics: CollectorMetrics = {
    registry,
    accepted: new client.Counter({ name: `${P}events_accepted_total`, help: 'Events stored', labelNames: ['source'], registers }),
    duplicates: new client.Counter({ name: `${P}events_duplicate_total`, help: 'Lines byte-identical to a stored event', labelNames: ['source'], registers }),
    rejected: new client.Counter({ name: `${P}events_rejected_total`, help: 'Batches or lines refused, by code', labelNames: ['source', 'code'], registers }),
    forks: new client.Counter({ name: `${P}forks_total`, help: 'Fork evidence recorded', labelNames: ['source', 'kind'], registers }),
    batchSeconds: new client.Histogram({
      name: `${P}batch_duration_seconds`,
      help: 'Ingest batch latency from body received to response',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    cosignaturesIssued: new client.Counter({ name: `${P}cosignatures_issued_total`, help: 'Checkpoints cosigned by the witness', labelNames: ['source'], registers }),
  };
  new client.Gauge({
    name: `${P}source_head_seq`,
    help: 'Seq of the last stored event per source (-1: none)',
    labelNames: ['source'],
    registers,
    async collect() {
      this.reset();
      try {
        const rows = await handle.db.selectFrom('heads').select(['source', 'seq']).execute();
        for (const r of rows) this.set({ source: r.source }, r.seq);
      } catch {
        // The database is down: /readyz says so; a scrape still returns the process metrics.
      }
    },
  });
  return metrics;
}
