// Timing helpers: rates are medians over repetitions, with warm-up runs discarded, and each
// repetition runs the baseline right before the figure so both see the same machine state.

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Seconds taken by `fn` (awaited). */
export async function seconds(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Operations per second of `fn`, which performs `count` operations. */
export async function rate(count, fn) {
  return count / (await seconds(fn));
}

/**
 * Interleaved repetitions of a baseline and a figure, each returning a rate. Returns the medians
 * and the kept samples.
 */
export async function pair({ warmup, reps, baseline, figure }) {
  const b = [];
  const f = [];
  for (let i = 0; i < warmup + reps; i++) {
    const rb = await baseline(i);
    const rf = await figure(i);
    if (i >= warmup) {
      b.push(rb);
      f.push(rf);
    }
  }
  return { baseline: median(b), figure: median(f), baselineSamples: b, figureSamples: f };
}

/** Medians of one measurement repeated (no baseline). */
export async function repeat({ warmup, reps, run }) {
  const xs = [];
  for (let i = 0; i < warmup + reps; i++) {
    const x = await run(i);
    if (i >= warmup) xs.push(x);
  }
  return { median: median(xs), samples: xs };
}

/** Resident set size in bytes now, and the peak so far (kernel's VmHWM). */
export function rss() {
  return { now: process.memoryUsage.rss(), peak: process.resourceUsage().maxRSS * 1024 };
}

/** Least-squares slope of y over x (0 when every x is equal). */
export function slope(points) {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}
