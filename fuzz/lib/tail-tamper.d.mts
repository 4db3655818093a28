/** Types of tail-tamper.mjs (tail probes). */
import type fc from 'fast-check';
import type { Library } from './library.mjs';
import type { Pristine } from './tamper.mjs';

export interface TailProbe { items: string[]; fragment: boolean; dropProjection: boolean }
export declare const tailProbeArb: fc.Arbitrary<TailProbe>;
export declare const TAIL_EXAMPLES: TailProbe[];
export declare function probeTail(lib: Library, p: Pristine, probe: TailProbe): Promise<string>;
export declare function tailProbeProperty(lib: Library, p: Pristine, counts?: Record<string, number>): fc.IAsyncPropertyWithHooks<[TailProbe]>;
