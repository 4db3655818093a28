// The calling thread's scheduler figures (Linux /proc/thread-self/schedstat): [ns on a CPU, ns
// waiting in the run queue]. The second shows contention for the cores.
import fs from 'node:fs';

/** [run ns, wait ns] of this thread; [NaN, NaN] where schedstat is not available. */
export function threadSched() {
  try {
    return fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').slice(0, 2).map(Number);
  } catch {
    return [Number.NaN, Number.NaN];
  }
}
