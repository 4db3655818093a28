// spec §20.9: a backlog ships streaming with flat memory. CI ships 200,000 events through the
// sidecar process and checks its peak RSS; `node bench/ship-backlog.mjs` runs the 1,000,000.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from '../cli/cli-harness.js';

beforeAll(ensureBuilt);

describe('backlog memory', () => {
  it('200,000 events ship in order with peak RSS <= 256 MB', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bench/ship-backlog.mjs'), '--events', '200000', '--json'], { encoding: 'utf8', timeout: 240_000 });
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { shippedInOrder: boolean; peakRssMB: number; exitCode: number };
    console.log(`backlog: ${r.stdout.trim()}`);
    expect(result.shippedInOrder).toBe(true);
    expect(result.peakRssMB).toBeGreaterThan(0);
    expect(result.peakRssMB).toBeLessThanOrEqual(256);
    expect(result.exitCode).toBe(0);
    expect(r.status).toBe(0);
  }, 300_000);
});
