/** Types of sim-scenario.mjs (what the simulated crash suite generates). */
import type fc from 'fast-check';

export declare const APPEND_POINTS: readonly string[];
export declare const WORKER_POINTS: readonly string[];
export declare const RECONCILE_POINTS: readonly string[];
export type Scenario = any;
export declare const scenarioArb: fc.Arbitrary<Scenario>;
