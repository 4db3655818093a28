/**
 * Crashes during reconcile itself, enumerated: a first crash leaves drift (a line fsynced but not
 * mirrored) or a torn tail (a write cut short), then the open that heals it dies at every
 * reconcile crash point, by process crash and by power cut; a later open must still heal it.
 */
import { describe, expect, it } from 'vitest';
import { newStats, runScenario } from '../../fuzz/lib/sim-crash.mjs';
import { crash, items, type Kind } from './scenarios.js';
import { srcLibrary } from './src-library.js';

const DAMAGE = {
  drift: { at: 'point', point: 'jsonl.synced', nth: 2 },
  torn: { at: 'jsonl-write', nth: 2, partial: 0.6 },
} as const;
const POINTS = ['reconcile.locked', 'reconcile.replayed', 'reconcile.torn-saved', 'reconcile.truncated', 'reconcile.committed'];

describe('crash during reconcile', () => {
  const cases: [keyof typeof DAMAGE, string, Kind, number][] = [];
  for (const damage of Object.keys(DAMAGE) as (keyof typeof DAMAGE)[]) {
    for (const point of POINTS) {
      if (damage === 'drift' && point.startsWith('reconcile.t')) continue; // no torn tail to move
      for (const kind of ['process', 'power'] as Kind[]) for (const seed of [1, 2, 3]) cases.push([damage, point, kind, seed]);
    }
  }

  it.each(cases)('%s, then open dies at %s (%s, rng %i)', async (damage, point, kind, seed) => {
    const stats = newStats();
    await runScenario(srcLibrary, {
      signed: seed !== 2,
      segments: [{
        ops: [{ t: 'append', items: items(3, 'a') }, { t: 'batch', items: items(4, 'b') }],
        crash: crash(DAMAGE[damage], 'process'),
        recovery: seed === 3 ? 'replay' : 'open',
        recoveryCrashes: [{ plan: { at: 'point', point, nth: 1 }, kind, rngSeed: seed, sqliteBack: seed - 1 }],
      }],
    }, { stats });
    // Both crashes happened where they were meant to.
    expect(stats.byWhere[`process@${DAMAGE[damage].at === 'point' ? 'jsonl.synced' : 'write events.jsonl'}`]).toBe(1);
    expect(stats.byWhere[`${kind}@open/${point}`]).toBe(1);
  });
});
