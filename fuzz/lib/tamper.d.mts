/** Types of tamper.mjs (tamper and mutation probes). */
import type fc from 'fast-check';
import type { Library } from './library.mjs';

export interface Pristine {
  dir: string;
  root: string;
  keyA: any; keyB: any; keyC: any; keyring: any;
  bytes: Buffer;
  lines: { offset: number; bytes: Buffer; end: number }[];
  n: number;
}
export declare function expectedLineCode(original: string, bytes: Buffer, keyring: any): string;
export declare function buildPristine(lib: Library, root: string, n?: number): Promise<Pristine>;
export declare function probeByteFlip(lib: Library, p: Pristine, line: number, pos: number, value: number): Promise<string | undefined>;
export declare function exhaustiveFlips(lib: Library, p: Pristine, lines: number[], masks?: number[]): Promise<Record<string, number>>;
export declare function flipArb(p: Pristine): fc.Arbitrary<[number, number, number]>;
export declare function probeTruncation(lib: Library, p: Pristine, at: number): Promise<void>;
export declare function lineProbes(lib: Library, p: Pristine): Promise<number>;
export declare function sqliteProbes(lib: Library, p: Pristine, seq: number, columns?: string[]): Promise<number>;
export declare function signatureProbes(lib: Library, p: Pristine): Promise<number>;
export declare function signatureStripProbes(lib: Library, p: Pristine): Promise<number>;
export declare function symlinkProbes(lib: Library, p: Pristine): Promise<number>;
export declare function tamperRoot(): string;
export declare const EVENT_COLUMNS: readonly string[];
export declare function merkleNodeProbes(lib: Library, p: Pristine): Promise<number>;
export declare function watermarkProbes(lib: Library, p: Pristine): Promise<number>;
export declare function checkpointTableProbes(lib: Library, p: Pristine): Promise<number>;
export declare function keyringSwapProbes(lib: Library, p: Pristine): Promise<number>;
export declare function trustProbes(lib: Library, p: Pristine): Promise<number>;
