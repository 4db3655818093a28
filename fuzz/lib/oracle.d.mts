/** Types of oracle.mjs (independent readers and property checks). */
export declare const GENESIS_PREV: string;
export declare const JSONL: string;
export declare const SQLITE: string;
export declare const TORN: string;
export declare const QUARANTINE: string;
export declare const PROPERTIES: readonly string[];

export declare class PropertyViolation extends Error {
  constructor(property: string, message: string, details?: Record<string, unknown>);
  readonly property: string;
  readonly details: Record<string, unknown>;
}

export interface Checker {
  on(name: string): boolean;
  that(name: string, ok: boolean, message: string | (() => string), details?: Record<string, unknown>): void;
}
export declare function makeChecker(only?: readonly string[]): Checker;

export interface LooseEvent { seq: number; id: string; hash: string; prev: string; text: string }
export interface JsonlRead {
  bytes: Buffer;
  lines: { offset: number; bytes: Buffer; end: number }[];
  fragment: { offset: number; bytes: Buffer } | null;
  events: (LooseEvent & { offset: number; end: number })[];
  cut: number;
  /** The final fragment is a whole chained event that reconcile completes with a newline. */
  completes: boolean;
}
export interface SqliteRead {
  exists: boolean;
  rows: { seq: number; id: string; hash: string; line: string; offset: number }[];
  watermark: { seq: number; hash: string; offset: number; lineStart: number } | null;
}
export declare function ledgerFiles(dir: string): { dir: string; jsonl: string; sqlite: string; torn: string; quarantine: string };
export declare function readBytes(file: string): Buffer;
export declare function splitLines(bytes: Buffer): Pick<JsonlRead, 'lines' | 'fragment'>;
export declare function looseEvent(line: Buffer): LooseEvent | undefined;
export declare function readJsonl(file: string): JsonlRead;
export declare function readSqlite(file: string): SqliteRead;
export declare function readTorn(dir: string): Map<string, Buffer>;
export declare function readQuarantineIds(dir: string): Set<string>;
export declare function checkSqliteWithinJsonl(check: Checker, name: string, jsonlBytes: Buffer, sqlite: SqliteRead, where?: string): void;
export declare function checkAckedPresent(check: Checker, acked: Map<string, { seq: number; id: string; hash: string }>, jsonl: JsonlRead, sqlite?: SqliteRead, where?: string): void;
export declare function checkStoresEqual(check: Checker, jsonl: JsonlRead, sqlite: SqliteRead, where?: string): void;
export declare function checkTornMoved(check: Checker, before: JsonlRead, afterBytes: Buffer, torn: Map<string, Buffer>, where?: string, grown?: boolean): void;
export declare function describeError(e: unknown): string;
