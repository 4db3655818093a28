/** Types of sim-crash.mjs (simulated crash scenarios). */
import type fc from 'fast-check';
import type { Library } from './library.mjs';

export { APPEND_POINTS, RECONCILE_POINTS, WORKER_POINTS, scenarioArb, type Scenario } from './sim-scenario.mjs';
import type { Scenario } from './sim-scenario.mjs';

export interface SimStats {
  scenarios: number;
  /** Signed appendBatch calls of 64+ events (the signing threads sign them, spec §13.8). */
  signedLargeBatches: number;
  /** checkpoint() calls that signed a checkpoint (the `checkpoint` op). */
  checkpoints: number;
  crashes: number;
  processCrashes: number;
  powerCuts: number;
  crashesDuringOpen: number;
  byWhere: Record<string, number>;
  acked: number;
  tornMoved: number;
  tornCompleted: number;
  opens: number;
  /** Opens refused under `holes` (spec §7.3). */
  refusedOpens: number;
  /** What sim-tail-damage.mjs did before recoveries, by kind (`<kind>-skipped` when it could not). */
  tailDamage: Record<string, number>;
}
export interface SimConfig {
  stats?: SimStats;
  only?: readonly string[];
  mutant?: string;
  /** Power cuts may keep a later 512-byte sector of unsynced bytes and lose an earlier one (spec §7.3 then refuses to open). */
  holes?: boolean;
  root?: string;
  keep?: boolean;
  /** Pins the projection mode (spec §13.9) instead of drawing it per scenario. */
  projectionWorker?: boolean;
}
export declare function newStats(): SimStats;
export declare function simulatedCrashProperty(lib: Library, config?: SimConfig): fc.IAsyncPropertyWithHooks<[Scenario]>;
export declare function runScenario(lib: Library, scenario: Scenario, config?: SimConfig): Promise<void>;
export declare function tmpRoot(): string;
