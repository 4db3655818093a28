/**
 * The library entry of the collector (spec §18). Fastify, pg and prom-client load only when a
 * collector is created, so `import 'sealed-ledger'` stays as light as it was for host-only use.
 */
import type { Collector, CollectorOptions } from './server.js';

export async function createCollector(options: CollectorOptions): Promise<Collector> {
  const { createCollectorServer } = await import('./server.js');
  return createCollectorServer(options);
}
