/**
 * The writer's wake-up for followers in its own process (spec §21.3): the group committer calls
 * notify() once per successful flush, after the lines are fsynced and the callers resolved. It
 * carries no data and queues nothing, so a follower that stops pulling costs the writer nothing.
 */
export class CommitSignal {
  private generation = 0;
  private waiters = new Set<() => void>();
  private done = false;

  notify(): void {
    this.generation++;
    this.wakeAll();
  }

  /** The ledger closed: no commit will follow. */
  end(): void {
    this.done = true;
    this.wakeAll();
  }

  get ended(): boolean {
    return this.done;
  }

  /** A token for "now"; wait(token) resolves at once if a commit has happened since. */
  mark(): number {
    return this.generation;
  }

  wait(since: number, signal?: AbortSignal): Promise<void> {
    if (this.generation !== since || this.done || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.waiters.delete(wake);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this.waiters.add(wake);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  private wakeAll(): void {
    for (const w of [...this.waiters]) w();
  }
}
