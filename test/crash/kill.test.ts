/**
 * The bounded CI slice of the real-kill suite (fuzz/lib/kill-harness.mjs): writer processes
 * (single appends, batches, concurrent appends; several at once on one folder; after damage that
 * makes their open replay or move a torn tail aside) are SIGKILLed at moments fast-check picks.
 * The files are then checked with independent readers, and reopened. The children run dist/
 * (`npm test` builds it first). The long run is `npm run fuzz -- --suite kill`.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { killProperty, newKillStats } from '../../fuzz/lib/kill-harness.mjs';
import { assertDistBuilt } from './dist-check.js';
import { srcLibrary } from './src-library.js';

const MIN_KILLS = 30;

describe('real kills', () => {
  beforeAll(() => assertDistBuilt());

  it(`no acknowledged event lost, SQLite never ahead, reopen heals: >= ${MIN_KILLS} SIGKILLs`, async () => {
    const stats = newKillStats();
    const started = Date.now();
    // Top up until enough writers were really killed (some finish before their kill time).
    for (let round = 0; stats.kills < MIN_KILLS && round < 6; round++) {
      await fc.assert(killProperty(srcLibrary, { stats }), { numRuns: round === 0 ? 14 : 4, interruptAfterTimeLimit: 150_000 });
    }
    console.log(`kill slice: ${JSON.stringify(stats)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(stats.kills).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(stats.acked).toBeGreaterThan(0);
    expect(stats.finished).toBeGreaterThan(0);
  }, 240_000);
});
