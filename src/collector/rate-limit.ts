/**
 * A per-source token bucket for ingest batches (spec §18.5): one host that loops or floods must
 * not starve the others. Per process; several collector processes each apply it.
 */
export interface RateLimit {
  /** Sustained batches per second per source. */
  batchesPerSecond: number;
  /** Batches a source may send at once after being idle. */
  burst: number;
}

export class SourceRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly limit: RateLimit | undefined, private readonly clock: () => number = () => performance.now()) {}

  /** 0 when the batch may proceed; otherwise seconds to wait (for Retry-After). */
  take(source: string): number {
    if (!this.limit) return 0;
    const { batchesPerSecond: rate, burst } = this.limit;
    const t = this.clock();
    const b = this.#buckets.get(source) ?? { tokens: burst, at: t };
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * rate);
    b.at = t;
    this.#buckets.set(source, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / rate));
  }
}
