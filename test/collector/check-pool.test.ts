// spec §18.3: the line checks spread over worker threads decide exactly as the inline checks do
// (same accepted lines, same first failure), whatever line is bad and wherever it is.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '../../src/crypto/keyring.js';
import { checkBatchLines, lineLimits } from '../../src/collector/batch-lines.js';
import { CHECK_WORKER_YOUNG_MB, CheckPool } from '../../src/collector/check-pool.js';
import { sharedChunks } from '../../src/collector/chunk-plan.js';
import { ensureBuilt, ROOT } from '../cli/cli-harness.js';
import { HostChain, keyEntry } from './support.js';
import { tempDir } from '../helpers.js';

let pool: CheckPool;
beforeAll(() => {
  ensureBuilt();
  pool = new CheckPool(3, pathToFileURL(path.join(ROOT, 'dist/collector/check-worker.js')));
}, 180_000);
afterAll(() => pool.close());

const host = new HostChain();
host.append(150);
const keyring = new Keyring([keyEntry(host.key!)]);
const MUTATIONS: ((line: string) => string)[] = [
  (l) => l.replace('"kind":', '"kind": '), // not canonical
  (l) => l.replace(/"n":(\d+)/, '"n":"$1"'), // seal mismatch
  (l) => l.replace(/"value":"[A-Za-z0-9+/]{4}/, '"value":"AAAA'), // bad signature
  (l) => l.slice(0, 30), // truncated JSON
];

describe('CheckPool', () => {
  it('equals checkBatchLines on batches with a bad line anywhere', async () => {
    const seed = Date.now();
    console.log(`check-pool property seed ${seed}`);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 64, max: 150 }),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: MUTATIONS.length - 1 }))),
        fc.boolean(),
        async (n, bad, requireSignatures) => {
          const lines = host.lines.slice(0, n);
          if (bad) lines[bad[0] % n] = MUTATIONS[bad[1]]!(lines[bad[0] % n]!);
          const body = Buffer.from(lines.map((l) => l + '\n').join(''));
          const o = { keyring, requireSignatures, limits: lineLimits() };
          const inline = checkBatchLines(body, o);
          const pooled = await pool.check(body, keyring, requireSignatures, o.limits);
          expect(pooled.failure).toEqual(inline.failure);
          const fields = (l: (typeof inline.lines)[number]) => [l.seq, l.id, l.at, l.prev, l.hash, l.bytes.toString()];
          expect(pooled.lines.map(fields)).toEqual(inline.lines.map(fields));
        },
      ),
      { numRuns: 40, seed },
    );
  });

  it('checked in chunks under any plan, the chunks up to the first failure equal checkBatchLines', async () => {
    const seed = Date.now();
    console.log(`check-pool chunk plan property seed ${seed}`);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 64, max: 150 }),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: MUTATIONS.length - 1 }))),
        // Sizes that may cover fewer lines than the batch: the rest is still checked.
        fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 5 }),
        async (n, bad, sizes) => {
          const lines = host.lines.slice(0, n);
          if (bad) lines[bad[0] % n] = MUTATIONS[bad[1]]!(lines[bad[0] % n]!);
          const body = Buffer.from(lines.map((l) => l + '\n').join(''));
          const limits = lineLimits();
          const inline = checkBatchLines(body, { keyring, requireSignatures: true, limits });
          const chunks = pool.checkChunks(body, keyring, true, limits, () => sizes);
          const got: string[] = [];
          let failure;
          for (const c of chunks) {
            const r = await c;
            got.push(...r.lines.map((l) => l.bytes.toString()));
            if (r.failure) {
              failure = r.failure;
              break;
            }
          }
          expect(failure).toEqual(inline.failure);
          expect(got).toEqual(inline.lines.map((l) => l.bytes.toString()));
        },
      ),
      { numRuns: 30, seed },
    );
  });
});

describe('sharedChunks (spec §18.3.8)', () => {
  it('cuts a batch into chunks of the given shares that cover it exactly, or fixed chunks of 250 when one would be under 64 lines', () => {
    expect(sharedChunks()(1000)).toEqual([100, 300, 300, 200, 100]);
    expect(sharedChunks([0.1, 0.4, 0.4, 0.1])(1000)).toEqual([100, 400, 400, 100]);
    expect(sharedChunks()(999)).toEqual([100, 300, 299, 200, 100]);
    expect(sharedChunks()(600)).toEqual([250, 250, 100]);
    expect(sharedChunks()(200)).toEqual([200]);
    for (const shares of [[0.1, 0.3, 0.3, 0.2, 0.1], [0.1, 0.4, 0.4, 0.1], [1 / 3, 1 / 3, 1 / 3]]) {
      for (let n = 1; n <= 1000; n++) {
        const sizes = sharedChunks(shares)(n);
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
        expect(Math.min(...sizes)).toBeGreaterThan(0);
      }
    }
  });
});

describe('CheckPool workers (ADR 0041)', () => {
  // ADR 0041: left to V8's default, each check worker's young generation grew to its maximum
  // after ~250,000 events and the collector's RSS rose by ~8 MiB per worker for good. A probe in
  // place of the check worker answers with the limits its thread was started with.
  it('starts its workers with a bounded young generation', async () => {
    const t = tempDir('sl-check-pool-');
    try {
      const probe = path.join(t.dir, 'probe.mjs');
      fs.writeFileSync(probe, "import { parentPort, resourceLimits } from 'node:worker_threads';\nparentPort.on('message', (r) => parentPort.postMessage({ id: r.id, error: JSON.stringify(resourceLimits) }));\n");
      const probed = new CheckPool(2, pathToFileURL(probe));
      try {
        const body = Buffer.from(host.lines.slice(0, 100).map((l) => l + '\n').join(''));
        const answer = await probed.check(body, keyring, false, lineLimits()).then(() => 'resolved', (e: Error) => e.message);
        const limits = JSON.parse(answer.replace(/^check worker: /, '').split('\n')[0]!) as { maxYoungGenerationSizeMb: number };
        expect(limits.maxYoungGenerationSizeMb).toBe(CHECK_WORKER_YOUNG_MB);
        expect(CHECK_WORKER_YOUNG_MB).toBeLessThanOrEqual(16);
      } finally {
        await probed.close();
      }
    } finally {
      t.cleanup();
    }
  });
});
