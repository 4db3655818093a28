import fs from 'node:fs';
import path from 'node:path';
import { Ledger } from '../../src/ledger/ledger.js';
import { type Shipper, startShipper } from '../../src/ship/shipper.js';
import type { ShipLogRecord, ShipperOptions } from '../../src/ship/options.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => unknown)[] = [];

export async function cleanupShipTests(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

export function onCleanup(f: () => unknown): void {
  cleanups.push(f);
}

export async function ledgerWith(n: number): Promise<{ dir: string; ledger: Ledger }> {
  const t = tempDir('sealed-ledger-ship-');
  onCleanup(t.cleanup);
  const dir = path.join(t.dir, 'ledger');
  const ledger = await Ledger.open({ dir, create: true, projectionLagMs: 0 });
  onCleanup(() => ledger.close());
  await appendN(ledger, n);
  return { dir, ledger };
}

export async function appendN(ledger: Ledger, n: number, kind = 'test.event'): Promise<void> {
  for (let i = 0; i < n; i += 100) {
    const k = Math.min(100, n - i);
    await ledger.appendBatch(Array.from({ length: k }, (_, j) => ({ kind, payload: { i: i + j, pad: 'x'.repeat(40) } })));
  }
}

export function jsonlLines(dir: string): string[] {
  return fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').slice(0, -1);
}

export function ship(options: Partial<ShipperOptions> & Pick<ShipperOptions, 'url'>, logs: ShipLogRecord[] = []): Shipper {
  const s = startShipper({
    source: 'host-a',
    token: 'unused',
    cursorFile: false,
    backoff: { minMs: 20, maxMs: 200 },
    haltedRetryMs: 100,
    authRetryMs: 100,
    requestTimeoutMs: 2000,
    pollMs: 50,
    settleMs: 200,
    log: (r) => logs.push(r),
    ...options,
  } as ShipperOptions);
  onCleanup(() => s.stop({ drainMs: 0 }));
  return s;
}

export async function until(cond: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
