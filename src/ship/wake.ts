/**
 * Wakes a sidecar shipper when events.jsonl may have grown (spec §20.5): `fs.watch` on the
 * folder for promptness, and a poll that runs regardless, since watch events can be lost,
 * coalesced or unsupported (network file systems, some containers).
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Waker {
  close(): void;
  /** False when fs.watch could not be used and only polling runs. */
  readonly watching: boolean;
}

export function watchFolder(jsonlPath: string, pollMs: number, wake: () => void): Waker {
  const name = path.basename(jsonlPath);
  let watcher: fs.FSWatcher | undefined;
  try {
    watcher = fs.watch(path.dirname(jsonlPath), { persistent: false }, (_event, file) => {
      if (file === null || file === name || file.toString() === name) wake();
    });
    // A watcher that fails later (folder removed) leaves the poll running.
    watcher.on('error', () => {
      watcher?.close();
      watcher = undefined;
    });
  } catch {
    watcher = undefined;
  }
  const timer = setInterval(wake, pollMs);
  timer.unref();
  return {
    get watching() {
      return watcher !== undefined;
    },
    close() {
      clearInterval(timer);
      watcher?.close();
    },
  };
}
