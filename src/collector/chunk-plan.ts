/**
 * How an ingest batch is cut into checked chunks (spec §18.3.8, ADR 0034). The workers check the
 * chunks back to back; chunk k is stored once it is checked and chunk k-1 is stored. What is not
 * overlapped is the first chunk's check (nothing to store yet) and the store of whatever is left
 * after the last check: so the first chunk is small and the chunks shrink towards the end, each
 * one's store hiding behind the next one's check.
 */

/** Sizes of consecutive chunks, in line order, summing to the batch's line count. */
export type ChunkPlan = (lines: number) => number[];

/** The whole batch at once (SQLite: its write lock must not wait for checks). */
export const ONE_CHUNK: ChunkPlan = (lines) => [lines];

/** A chunk smaller than this costs more in statements and messages than its overlap saves. */
const MIN_CHUNK_LINES = 64;

/** PostgreSQL's default: 1,000 lines are checked as 100/300/300/200/100. */
export const DEFAULT_SHARES: readonly number[] = [0.1, 0.3, 0.3, 0.2, 0.1];

/**
 * Chunks of the given shares of the batch (they sum to 1). A batch too small for its smallest
 * share to reach 64 lines gets fixed chunks of 250 lines instead (one chunk up to 250).
 */
export function sharedChunks(shares: readonly number[] = DEFAULT_SHARES): ChunkPlan {
  return (lines) => {
    const out: number[] = [];
    let cut = 0;
    let sum = 0;
    for (const share of shares) {
      sum += share;
      const next = Math.min(lines, Math.round(lines * sum));
      out.push(next - cut);
      cut = next;
    }
    out[out.length - 1]! += lines - cut;
    return Math.min(...out) < MIN_CHUNK_LINES ? fixedChunks(250)(lines) : out;
  };
}

/** Fixed chunks of `size` lines (the last one shorter): ADR 0027's plan, kept for comparisons. */
export function fixedChunks(size: number): ChunkPlan {
  return (lines) => {
    const out: number[] = [];
    for (let from = 0; from < lines; from += size) out.push(Math.min(size, lines - from));
    return out.length === 0 ? [lines] : out;
  };
}
