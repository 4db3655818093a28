/**
 * `sealed-ledger/collector`: the collector service (spec §18, §19). A separate entry because it
 * is a server built on Fastify, pg and prom-client: an application that only writes and verifies
 * ledgers neither loads it nor needs its dependencies' type declarations (ADR 0015).
 */
export { createCollector } from './create.js';
export type { Collector, CollectorOptions } from './server.js';
export type { RateLimit } from './rate-limit.js';
export type { IngestLimits, IngestReply } from './ingest.js';
