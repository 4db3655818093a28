/**
 * Progress bars on stderr (spec §15.2): only for a person watching a terminal. Never under
 * --json or --quiet, never when stderr is a pipe or file, so logs and CI output stay clean.
 */
import cliProgress from 'cli-progress';

export interface ProgressSink {
  /** The shape of the library's onProgress callbacks. */
  update(scannedBytes: number, totalBytes: number): void;
  stop(): void;
}

export function wantsProgress(options: { isTTY: boolean | undefined; json?: boolean; quiet?: boolean }): boolean {
  return options.isTTY === true && !options.json && !options.quiet;
}

const mb = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

/** A bar labelled `label` counting bytes of events.jsonl, or a no-op sink. */
export function progressBar(label: string, enabled: boolean): ProgressSink {
  if (!enabled) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label.padEnd(7)} [{bar}] {percentage}% | {done} of {size} | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(scanned, total) {
      const t = Math.max(1, total);
      if (!started) {
        bar.start(t, 0, { done: mb(0), size: mb(total) });
        started = true;
      }
      bar.setTotal(t);
      bar.update(Math.min(t, scanned), { done: mb(scanned), size: mb(total) });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
