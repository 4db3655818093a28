/**
 * What the simulated crash suite generates (fast-check arbitraries): a scenario is an optional
 * crash during create, then 1 to 3 segments, each a workload, the crash that ends it, and how
 * recovery goes (including crashes during the recovering open).
 */
import fc from 'fast-check';
import { tailDamageArb } from './sim-tail-damage.mjs';

export const APPEND_POINTS = ['append.locked', 'sqlite.staged', 'append.sealed', 'jsonl.written', 'jsonl.synced', 'sqlite.inserted', 'sqlite.committed', 'worker.waiting'];
/** Inside the projection worker (spec §13.9): after its inserts, after its commit, in its `batch`-th transaction. */
export const WORKER_POINTS = ['worker.inserted', 'worker.committed'];
export const RECONCILE_POINTS = ['reconcile.locked', 'reconcile.torn-saved', 'reconcile.truncated', 'reconcile.replayed', 'reconcile.committed'];

// Mostly accepted kinds; q.hold is quarantined and r.no rejected by the suite's policy.
const kindArb = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('user.login', 'doc.edit', 'user.logout') },
  { weight: 1, arbitrary: fc.constant('q.hold') },
  { weight: 1, arbitrary: fc.constant('r.no') },
);

const payloadArb = fc.oneof(
  fc.integer(),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.record({ n: fc.integer({ min: -5, max: 1e6 }), s: fc.string({ maxLength: 6 }) }),
  fc.constant(null),
  fc.array(fc.boolean(), { maxLength: 3 }),
);

const inputArb = fc.record({
  kind: kindArb,
  payload: payloadArb,
  actor: fc.option(fc.constantFrom('alice', 'bob', 'Zoë'), { nil: undefined }),
  explicitId: fc.boolean(),
});

const acceptedInputArb = inputArb.filter((i) => i.kind !== 'q.hold' && i.kind !== 'r.no');

const opArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('append'), items: fc.array(inputArb, { minLength: 1, maxLength: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('batch'), items: fc.array(inputArb, { minLength: 1, maxLength: 5 }) }) },
  // Large enough for the signing threads when signed (spec §13.8: 64 events or more). With every
  // kind drawn, almost every such batch holds a quarantined or rejected event (1 in 7 each) and
  // fails in its first chunk; half of them draw accepted kinds only, so that whole batches are
  // signed on threads and their rows staged (spec §13.8 step 2), and die there.
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('batch'),
      items: fc.oneof(fc.array(inputArb, { minLength: 64, maxLength: 72 }), fc.array(acceptedInputArb, { minLength: 64, maxLength: 72 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('mixed'),
      items: fc.array(inputArb, { minLength: 2, maxLength: 12 }),
      batch: fc.array(inputArb, { minLength: 1, maxLength: 4 }),
      expectedSeqOffset: fc.option(fc.integer({ min: -1, max: 2 }), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('other'), items: fc.array(inputArb, { minLength: 1, maxLength: 4 }), mine: fc.array(inputArb, { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('retry'), pick: fc.nat(), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reopen') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('replay') }) },
  // checkpoint() runs under the writer lock in its place in the commit queue (spec §13.2), between
  // appends queued before and after it.
  { weight: 1, arbitrary: fc.record({ t: fc.constant('checkpoint'), before: fc.array(inputArb, { maxLength: 3 }), after: fc.array(inputArb, { maxLength: 3 }) }) },
);

// -1: every byte but the last (a whole last event without its newline, which reconcile completes, spec §7.3).
const partialArb = fc.oneof(fc.constant(0), fc.constant(1), fc.constant(-1), fc.integer({ min: 1, max: 99 }).map((n) => n / 100));
const ioPlanArb = (max) => fc.record({ at: fc.constant('io'), nth: fc.integer({ min: 1, max }), partial: partialArb });
const writePlanArb = fc.record({ at: fc.constant('jsonl-write'), nth: fc.integer({ min: 1, max: 3 }), partial: partialArb });

const crashArb = fc.record({
  plan: fc.oneof(
    { weight: 4, arbitrary: fc.record({ at: fc.constant('point'), point: fc.constantFrom(...APPEND_POINTS), nth: fc.integer({ min: 1, max: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ at: fc.constant('point'), point: fc.constantFrom(...RECONCILE_POINTS), nth: fc.integer({ min: 1, max: 2 }) }) },
    { weight: 3, arbitrary: writePlanArb },
    { weight: 2, arbitrary: fc.record({ at: fc.constant('point'), point: fc.constantFrom(...WORKER_POINTS), nth: fc.constant(1), batch: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 2, arbitrary: ioPlanArb(30) },
    { weight: 1, arbitrary: fc.record({ at: fc.constant('idle') }) },
  ),
  kind: fc.constantFrom('process', 'process', 'power'),
  victim: fc.constantFrom(0, 0, 1),
  rngSeed: fc.integer(),
  sqliteBack: fc.nat(8),
});

const recoveryCrashArb = fc.record({
  plan: fc.oneof(
    fc.record({ at: fc.constant('point'), point: fc.constantFrom(...RECONCILE_POINTS), nth: fc.constant(1) }),
    ioPlanArb(16),
    writePlanArb,
  ),
  kind: fc.constantFrom('process', 'power'),
  rngSeed: fc.integer(),
  sqliteBack: fc.nat(8),
});

const segmentArb = fc.record({
  ops: fc.array(opArb, { minLength: 2, maxLength: 6 }),
  crash: crashArb,
  recovery: fc.constantFrom('open', 'open', 'open', 'replay', 'rebuild', 'survivor'),
  // Replay's worker threads (spec §14.3.1), forced on however small the file: they check the
  // lines of a replay into an empty ledger.db (every rebuild). Only the built library has them.
  replayWorkers: fc.constantFrom(undefined, 0, 1, 2),
  recoveryCrashes: fc.array(recoveryCrashArb, { maxLength: 2 }),
  // A quarter of the segments also damage the tail or the watermark before recovery (sim-tail-damage.mjs).
  tailDamage: fc.option(tailDamageArb, { freq: 4, nil: undefined }),
});

export const scenarioArb = fc.record({
  signed: fc.boolean(),
  // How long the writer may hold rows of back-to-back flushes uncommitted (spec §13.7): every
  // acknowledgement committed, the default, and a window longer than any scenario.
  projectionLagMs: fc.constantFrom(0, 5, 60_000),
  // A third of the scenarios run the projection on a worker thread (spec §13.9), with a lag
  // bound small enough that appends wait for it, or one no scenario reaches (the worker's
  // transaction then stays open until the writer idles, a read asks for it, or the window ends).
  projectionWorker: fc.constantFrom(false, false, true),
  workerBound: fc.constantFrom('tight', 'loose'),
  createCrash: fc.option(fc.record({ plan: ioPlanArb(12), kind: fc.constantFrom('process', 'power'), rngSeed: fc.integer(), sqliteBack: fc.nat(2) }), { freq: 6, nil: undefined }),
  segments: fc.array(segmentArb, { minLength: 1, maxLength: 3 }),
});
