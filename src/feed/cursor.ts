/**
 * A position in the feed (spec §21.2): "after event `seq`", i.e. the next event starts at byte
 * `offset` of events.jsonl and must name `hash` as its prev. The same triple is what a consumer
 * offset file stores and what an SSE `id` resolves to, so every reader resumes the same way:
 * check the line that ends at `offset` still holds `seq` and `hash`, then read on.
 */
import { GENESIS_PREV } from '../format/event.js';

export interface FeedCursor {
  /** seq of the last event before the position; -1 at the start of the ledger. */
  seq: number;
  /** That event's hash; GENESIS_PREV at the start. */
  hash: string;
  /** Byte offset in events.jsonl just after that event's line. */
  offset: number;
}

export const START: Readonly<FeedCursor> = Object.freeze({ seq: -1, hash: GENESIS_PREV, offset: 0 });
