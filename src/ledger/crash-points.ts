/**
 * Named steps of the append and reconcile paths where the crash suites stop the writer
 * (spec §13.4). In production no hook is installed and these are no-ops.
 */
export type CrashPoint =
  | 'append.locked'
  | 'append.sealed'
  | 'sqlite.staged'
  | 'jsonl.written'
  | 'jsonl.synced'
  | 'sqlite.inserted'
  | 'sqlite.committed'
  | 'worker.waiting'
  | 'worker.inserted'
  | 'worker.committed'
  | 'reconcile.locked'
  | 'reconcile.torn-saved'
  | 'reconcile.truncated'
  | 'reconcile.replayed'
  | 'reconcile.committed';

export type CrashHook = (point: CrashPoint) => void;

/**
 * Thrown by a crash hook to model process death: the ledger abandons its state without any
 * cleanup a dying process could not do (no truncate, no rollback beyond what closing does).
 */
export class SimulatedCrash extends Error {
  constructor(readonly point: string) {
    super(`simulated crash at ${point}`);
    this.name = 'SimulatedCrash';
  }
}
