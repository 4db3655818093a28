/**
 * Test-only helpers (the `sealed-ledger/testing` entry). Nothing here belongs in production code:
 * the allow decision vouches for nothing, and the crash seam exists to kill the writer.
 */
import { type Ledger, writerOf } from './ledger/ledger.js';
import { PARITY_INVARIANT_RULE_ID, type PolicyDecision } from './policy/decision.js';

/**
 * A decision that satisfies the mirror's parity gate, for tests and fixtures only. The ledger
 * still substitutes the parity result it computes from real evidence, so this cannot smuggle an
 * append past a real parity violation.
 */
export function mirrorPolicyDecisionTestAllow(): PolicyDecision {
  return {
    outcome: 'allow',
    rules: [{ id: PARITY_INVARIANT_RULE_ID, outcome: 'allow', reason: 'test-only allow decision' }],
  };
}

export { SimulatedCrash, type CrashHook, type CrashPoint } from './ledger/crash-points.js';
export { NODE_FILE_IO, type FileIO } from './store/file-io.js';
export { verifyEd25519Portable } from './crypto/ed25519-portable.js';

/** A Ledger's lifecycle as its writer sees it; 'dead' after a simulated crash. */
export type LedgerState = 'open' | 'read-only' | 'closed' | 'dead';

export function ledgerState(ledger: Ledger): LedgerState {
  return writerOf(ledger).state;
}

/**
 * Drop the ledger's files and lock as a killed process would: no truncate, no rollback beyond
 * what closing the SQLite connection does. The crash suites call it for a power cut.
 */
export function simulateProcessDeath(ledger: Ledger): void {
  writerOf(ledger).die();
}

/** Call `onRead` for every Merkle node a proof reads from ledger.db (cost assertions); returns an undo. */
export function onTreeNodeRead(ledger: Ledger, onRead: (level: number, index: number) => void): () => void {
  const tree = writerOf(ledger).files.projection.tree;
  const node = tree.node;
  tree.node = function (this: typeof tree, level: number, index: number) {
    onRead(level, index);
    return node.call(this, level, index);
  };
  return () => {
    tree.node = node;
  };
}

/**
 * The projection worker of a Ledger opened with `projectionWorker` (spec §13.9): its lag in
 * events, the last seq it committed, and a way to kill the thread (a worker death: the ledger is
 * poisoned and the next open heals from events.jsonl). Undefined when the projection is inline.
 */
export function projectionWorkerOf(ledger: Ledger): {
  readonly lag: number;
  readonly acked: number;
  terminate(): Promise<void>;
  /** Crash suites: stop the worker at `point` ('worker.inserted' | 'worker.committed') of its `nth` next transaction. */
  armCrash(point: 'worker.inserted' | 'worker.committed', nth: number): void;
  /** Transactions the worker has begun. */
  readonly transactions: number;
  /**
   * Make the worker wait before the COMMIT of its `txn`th transaction and every later one (it
   * holds ledger.db's write lock meanwhile); undefined lets it go on. For tests of interleavings.
   */
  holdCommitsFrom(txn: number | undefined): void;
  /** Block until the worker's `txn`th transaction waits at the hold (at most `timeoutMs`). */
  waitHeld(txn: number, timeoutMs: number): void;
} | undefined {
  const thread = writerOf(ledger).projectionThread;
  if (!thread) return undefined;
  return {
    get lag() {
      return thread.lag;
    },
    get acked() {
      return thread.acked;
    },
    terminate: () => thread.terminateForTest(),
    armCrash: (point, nth) => thread.armCrash(point, nth),
    get transactions() {
      return thread.transactions;
    },
    holdCommitsFrom: (txn) => thread.holdCommitsFrom(txn),
    waitHeld: (txn, timeoutMs) => thread.waitHeld(txn, timeoutMs),
  };
}
