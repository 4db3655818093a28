/**
 * How an ingest batch is cut into checked chunks (spec §18.3.6, ADR 0034). Chunk k+1 is checked
 * while chunk k is stored, so only the first chunk's check and the last chunk's store are not
 * overlapped: those two are small and the middle ones large. The check workers take their
 * messages in order, so a small chunk 0 is also answered first.
 */

/** Sizes of consecutive chunks, in line order, summing to the batch's line count. */
export type ChunkPlan = (lines: number) => number[];

/** The whole batch at once (SQLite: its write lock must not wait for checks). */
export const ONE_CHUNK: ChunkPlan = (lines) => [lines];

/**
 * Small edge chunks of `edge` of the batch each (at least `minEdge` lines), the middle in
 * `middle` equal chunks: 1,000 lines give 100/400/400/100 by default. A batch too small for
 * that is one chunk.
 */
export function edgeChunks(o: { edge?: number; middle?: number; minEdge?: number } = {}): ChunkPlan {
  const edgeShare = o.edge ?? 0.1;
  const middle = o.middle ?? 2;
  const minEdge = o.minEdge ?? 64;
  return (lines) => {
    const edge = Math.max(minEdge, Math.round(lines * edgeShare));
    const rest = lines - 2 * edge;
    if (rest < middle * minEdge) return [lines];
    const out = [edge];
    for (let i = 0; i < middle; i++) out.push(Math.floor(rest / middle) + (i < rest % middle ? 1 : 0));
    out.push(edge);
    return out;
  };
}

/** Fixed chunks of `size` lines (the last one shorter), as before ADR 0034; for comparisons. */
export function fixedChunks(size: number): ChunkPlan {
  return (lines) => {
    const out: number[] = [];
    for (let from = 0; from < lines; from += size) out.push(Math.min(size, lines - from));
    return out.length === 0 ? [lines] : out;
  };
}
