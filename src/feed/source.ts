/**
 * What a follower needs from where it runs (spec §21.3): how far events.jsonl is durable now,
 * and a way to sleep until that may have changed.
 */
import type { RowHint } from './anchor.js';

export interface DurableSource {
  /** Byte offset of events.jsonl up to which every line is durable; changes seen are consumed. */
  bound(): Promise<number>;
  /** Resolves after a possible change since the last bound(), on abort, or at the end. */
  wait(signal?: AbortSignal): Promise<void>;
  /** No change can come any more (the writing ledger closed). */
  readonly ended: boolean;
  /** Row offsets from the projection, to start at a seq without reading from byte 0. */
  hint: RowHint;
  close(): void;
}
