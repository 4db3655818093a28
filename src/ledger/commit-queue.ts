/**
 * The group committer's queue (spec §13.1): appends that arrive while a flush runs wait for the
 * next one, and every request waiting when a flush starts shares it.
 */
export class CommitQueue<T> {
  private queue: T[] = [];
  private scheduled = false;
  private running: Promise<void> | undefined;

  constructor(
    /** Runs one group; must settle every item itself (it never rejects). */
    private readonly flush: (items: T[]) => Promise<void>,
    /** Called when the queue ran dry after at least one flush. */
    private readonly drained: () => void,
  ) {}

  enqueue(item: T): void {
    this.queue.push(item);
    if (!this.scheduled && !this.running) {
      this.scheduled = true;
      // setImmediate, not a microtask: callers that start appends in the same tick (or whose
      // previous append just resolved) join this flush.
      setImmediate(() => void this.drain());
    }
  }

  /** A flush runs, is scheduled, or has items waiting. */
  get busy(): boolean {
    return this.running !== undefined || this.scheduled || this.queue.length > 0;
  }

  /** Resolves once every queued item has been flushed. */
  async idle(): Promise<void> {
    while (this.busy) {
      if (this.running) await this.running;
      else await new Promise((r) => setImmediate(r));
    }
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const items = this.queue;
      this.queue = [];
      this.running = this.flush(items);
      await this.running;
      this.running = undefined;
    }
    this.drained();
  }
}
