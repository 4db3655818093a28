/** Types of parsers.mjs (parser fuzzing). */
import type fc from 'fast-check';
import type { Library } from './library.mjs';
import type { Pristine } from './tamper.mjs';

export declare function typedOrValue<T>(lib: Library, property: string, what: string, f: () => T): { value?: T; error?: unknown };
export declare function parseEventLineProperty(lib: Library): fc.IPropertyWithHooks<[string]>;
export declare function canonicalizeProperty(lib: Library): fc.IPropertyWithHooks<[any]>;
export declare function keyringProperty(lib: Library): fc.IPropertyWithHooks<[any]>;
export declare function signingKeyFileProperty(lib: Library, dir: string): fc.IPropertyWithHooks<[Buffer, number]>;
export declare function noteProperty(lib: Library): fc.IPropertyWithHooks<[any, string]>;
export declare function verifierKeyProperty(lib: Library): fc.IPropertyWithHooks<[string]>;
export declare function jsonlReaderProperty(lib: Library, pristine: Pristine, root: string): fc.IAsyncPropertyWithHooks<[Buffer, boolean]>;
export declare function stdinEventsProperty(lib: Library): fc.IAsyncPropertyWithHooks<[Buffer]>;
export declare function cliAppendProperty(lib: Library, root: string): fc.IAsyncPropertyWithHooks<[Buffer]>;
export declare const PARSER_PROPERTIES: Record<string, (lib: Library) => fc.IPropertyWithHooks<any>>;
