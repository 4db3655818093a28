/** Types of disk-model.mjs (what survives a crash, behind the FileIO seam). */
import type { Library } from './library.mjs';

export interface Rng { next(): number; int(lo: number, hi: number): number; bool(p?: number): boolean }
export declare function makeRng(seed: number): Rng;
export declare const MUTANTS: Record<string, string>;

export declare class Disk {
  constructor(dir: string, options?: { holes?: boolean });
  readonly dir: string;
  readonly jsonlPath: string;
  readonly sqlitePath: string;
  readonly tornDir: string;
  cut: boolean;
  durableBytes(file: string): Buffer;
  committed(label: string): void;
  observeSyncs<T>(f: () => Promise<T>): Promise<T>;
  powerLoss(rng: Rng, sqliteBack: number): { lostEntries: string[]; sqliteRestored: string };
}

export type CrashPlan =
  | { at: 'io' | 'jsonl-write'; nth: number; partial?: number; kind?: 'process' | 'power' }
  | { at: 'point'; point: string; nth: number; kind?: 'process' | 'power' }
  | undefined;

export declare class SimProcess {
  constructor(disk: Disk, lib: Library, options?: { plan?: CrashPlan; mutant?: string; onPoint?: (point: string, proc: SimProcess) => void });
  readonly id: number;
  readonly io: any;
  readonly hook: (point: string) => void;
  readonly log: string[];
  dead: boolean;
  diedAt: string | undefined;
  readonly alive: boolean;
  arm(plan: CrashPlan): void;
  closeLeftovers(): void;
}
