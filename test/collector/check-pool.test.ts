// spec §18.3: the line checks spread over worker threads decide exactly as the inline checks do
// (same accepted lines, same first failure), whatever line is bad and wherever it is.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '../../src/crypto/keyring.js';
import { checkBatchLines, lineLimits } from '../../src/collector/batch-lines.js';
import { CheckPool } from '../../src/collector/check-pool.js';
import { ensureBuilt, ROOT } from '../cli/cli-harness.js';
import { HostChain, keyEntry } from './support.js';

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
          expect(pooled.lines.map((l) => [l.seq, l.hash, l.bytes.toString()])).toEqual(inline.lines.map((l) => [l.seq, l.hash, l.bytes.toString()]));
        },
      ),
      { numRuns: 40, seed },
    );
  });
});
