// spec §21.1: followers read only as their consumers pull. A follower that stops pulling holds at
// most one chunk and makes the writer neither wait nor grow: measured in a child process with a
// forced GC, against the same workload with no follower at all.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, fresh } from '../ledger/ledger-helpers.js';

const children = path.join(path.dirname(new URL(import.meta.url).pathname), 'children');
afterEach(cleanupAll);
beforeAll(() => {
  if (!fs.existsSync(new URL('../../dist/index.js', import.meta.url))) throw new Error('run `npm run build` first (npm test does)');
});

function runWriter(mode: 'stalled' | 'none', events: number): string[] {
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(children, 'stalled-writer.mjs'), fresh(), mode, String(events)], { encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n');
}

describe('backpressure (spec §21.1)', () => {
  it('stalled followers do not grow the writer while 3000 events (~12 MiB) are appended', () => {
    const events = 3000;
    const none = Number(runWriter('none', events)[0]!.split(' ')[1]);
    const [growth, ...drained] = runWriter('stalled', events);
    const stalled = Number(growth!.split(' ')[1]);
    console.log(`heap+external growth: no follower ${none} B, two stalled followers ${stalled} B`);
    // One chunk (256 KiB) of read-ahead per follower is the design; 3 MiB leaves room for GC noise
    // and is far below the ~12 MiB the appends wrote.
    expect(stalled - none).toBeLessThan(3 * 1024 * 1024);
    expect(drained).toEqual([`drained ${events}`, `drained ${events}`]);
  });
});
