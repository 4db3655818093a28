/**
 * Crashes during a group commit with many waiters, enumerated: 24 concurrent appends, a batch and
 * an expectedSeq append share one flush; it dies at every append crash point and inside its JSONL
 * write (cut at several fractions), by process crash and by power cut (SQLite rolled back to the
 * latest or an older commit). No waiter may be acknowledged for an event that is then lost.
 */
import { describe, expect, it } from 'vitest';
import { APPEND_POINTS, newStats, runScenario, WORKER_POINTS } from '../../fuzz/lib/sim-crash.mjs';
import { crash, items, type Kind } from './scenarios.js';
import { srcLibrary } from './src-library.js';

type Plan = { at: 'point'; point: string; nth: number; batch?: number } | { at: 'jsonl-write'; nth: number; partial: number };
const PLANS: [string, Plan][] = [
  ...APPEND_POINTS.map((point): [string, Plan] => [point, { at: 'point', point, nth: 2 }]),
  // Inside the projection worker (spec §13.9): its second transaction (projectionLagMs 0; with a
  // window, its first: every flush of the segment joins it, and it commits when the writer idles).
  ...WORKER_POINTS.map((point): [string, Plan] => [point, { at: 'point', point, nth: 1, batch: 2 }]),
  ...[0, 0.1, 0.5, 0.93, 1].map((partial): [string, Plan] => ['write events.jsonl', { at: 'jsonl-write', nth: 2, partial }]),
];

describe('crash during group commit', () => {
  // projectionLagMs 0 commits every flush, so the group's own commit is a point to die at; with
  // the default window the rows of consecutive flushes are held and committed later (spec §13.7).
  const cases: [string, Plan, Kind, number, number][] = [];
  for (const [where, plan] of PLANS) {
    for (const kind of ['process', 'power'] as Kind[]) {
      for (const back of [0, 2]) {
        cases.push([where, plan, kind, back, 0]);
        const held = plan.at === 'point' && plan.batch !== undefined ? { ...plan, batch: 1 } : plan;
        if (where !== 'sqlite.committed') cases.push([where, held, kind, back, 60_000]);
      }
    }
  }

  it.each(cases)('dies at %s %j (%s, SQLite back %i commits, projectionLagMs %i)', async (where, plan, kind, back, lag) => {
    const key = `${kind}@${where}`;
    // A projection worker puts every batch queued while it is inside a transaction into that
    // transaction (and, with a window, every batch until something asks for the rows), so whether
    // this workload gives it a transaction to die in once the warm-up is acknowledged depends on
    // thread timing: the suite's bound (maxLagMs 5) makes even the warm-up's flush ask for the
    // commit when the crash hook outlasts it on a loaded host. Run it again (each run checks
    // every property) until it dies there.
    const attempts = where.startsWith('worker.') ? 8 : 1;
    let stats = newStats();
    for (let attempt = 0; attempt < attempts; attempt++) {
      stats = newStats();
      await runScenario(srcLibrary, {
        signed: true,
        projectionLagMs: lag,
        // The worker's points exist only with the projection on a worker thread.
        projectionWorker: where.startsWith('worker.'),
        segments: [{
          ops: [
            { t: 'append', items: items(2, 'warm-up') },
            { t: 'mixed', items: items(25, 'waiter'), batch: items(4, 'batch'), expectedSeqOffset: 0 },
            // Rows are staged only for a request signed on threads (spec §13.8: 64 events or more).
            ...(where === 'sqlite.staged' ? [{ t: 'batch', items: items(70, 'large') }] : []),
            { t: 'append', items: items(3, 'after') },
          ],
          crash: crash(plan, kind, back + 7, back),
          recovery: 'open',
          recoveryCrashes: [],
        }],
      }, { stats });
      if (stats.byWhere[key] === 1 && stats.acked >= 2) break;
    }
    expect(stats.byWhere[key]).toBe(1);
    expect(stats.acked).toBeGreaterThanOrEqual(2);
  });
});
