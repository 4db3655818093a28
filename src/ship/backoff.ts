/**
 * Exponential backoff with full jitter (spec §20.4): the n-th consecutive failure waits a
 * uniformly random time in [0, min(max, min * 2^n)]. Full jitter spreads a fleet of shippers that
 * lost their collector at the same moment, so they do not come back in lockstep.
 */
export interface BackoffOptions {
  /** First ceiling (default 1 s). */
  minMs: number;
  /** Largest ceiling (default 5 min). */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { minMs: 1_000, maxMs: 300_000 };

export class Backoff {
  private failures = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** The wait before the next attempt after one more failure. */
  next(): number {
    const ceiling = this.ceiling();
    this.failures++;
    return Math.floor(this.random() * ceiling);
  }

  /** The ceiling the next failure draws under. */
  ceiling(): number {
    // 2^n overflows nothing below n = 1000; capping n keeps it a plain number.
    return Math.min(this.options.maxMs, this.options.minMs * 2 ** Math.min(this.failures, 40));
  }

  reset(): void {
    this.failures = 0;
  }

  get attempts(): number {
    return this.failures;
  }
}

/**
 * `Retry-After` as RFC 9110 §10.2.3 defines it: delay-seconds or an HTTP-date. Undefined when
 * absent or unparsable (the caller then backs off as for any other failure).
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Math.min(Number(s), 86_400) * 1000;
  const date = Date.parse(s);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.min(date - nowMs, 86_400_000));
}
