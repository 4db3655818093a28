/**
 * The watermark row of ledger.db (spec §8.2): up to which byte of events.jsonl the projection is
 * complete. A file of its own so that public types naming it do not pull in the SQLite driver.
 */
export interface Watermark {
  /** seq of the last projected event, -1 when empty. */
  seq: number;
  /** Its hash (GENESIS_PREV when empty). */
  hash: string;
  /** Byte offset in events.jsonl just past its line. */
  offset: number;
  /** Byte offset in events.jsonl where its line starts. */
  lineStart: number;
}
