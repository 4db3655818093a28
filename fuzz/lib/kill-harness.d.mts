/** Types of kill-harness.mjs (real SIGKILLs of writer processes). */
import type fc from 'fast-check';
import type { Library } from './library.mjs';

export declare const WRITER: string;
export interface KillStats {
  scenarios: number;
  rounds: number;
  spawned: number;
  largeBatchWriters: number;
  kills: number;
  finished: number;
  acked: number;
  killedBeforeReady: number;
  tornMoved: number;
}
export interface KillConfig {
  stats?: KillStats;
  only?: readonly string[];
  mutant?: 'early-ack' | 'sqlite-first';
  /** The built package the children run (default dist/). */
  dist?: string;
  root?: string;
  keep?: boolean;
  keepOnFailure?: boolean;
}
export declare const killScenarioArb: fc.Arbitrary<any>;
export declare function newKillStats(): KillStats;
export declare function killProperty(lib: Library, config?: KillConfig): fc.IAsyncPropertyWithHooks<[any]>;
export declare function runKillScenario(lib: Library, scenario: any, config?: KillConfig): Promise<void>;
