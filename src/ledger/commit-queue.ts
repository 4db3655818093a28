/**
 * The group committer's queue (spec §13.1): appends that arrive while a flush runs wait for the
 * next one, and every request waiting when a flush starts shares it. An exclusive item (an
 * operation under the writer lock, spec §13.2) runs alone, in its place in the queue: the appends
 * before it are flushed first, and those that arrive while it waits for the lock or runs queue
 * behind it, because both use the same SQLite connection and only one may hold its transaction.
 */
class Exclusive {
  constructor(readonly run: () => Promise<void>) {}
}

export class CommitQueue<T> {
  private queue: (T | Exclusive)[] = [];
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
    this.schedule();
  }

  /** Run `fn` alone once every item queued before it is flushed; items queued meanwhile wait for it. */
  exclusive<R>(fn: () => Promise<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push(new Exclusive(() => fn().then(resolve, reject)));
      this.schedule();
    });
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

  private schedule(): void {
    if (!this.scheduled && !this.running) {
      this.scheduled = true;
      // setImmediate, not a microtask: callers that start appends in the same tick (or whose
      // previous append just resolved) join this flush.
      setImmediate(() => void this.drain());
    }
  }

  private async drain(): Promise<void> {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const first = this.queue[0]!;
      if (first instanceof Exclusive) {
        this.queue.shift();
        this.running = first.run();
      } else {
        const cut = this.queue.findIndex((x) => x instanceof Exclusive);
        const items = (cut < 0 ? this.queue.splice(0) : this.queue.splice(0, cut)) as T[];
        this.running = this.flush(items);
      }
      await this.running;
      this.running = undefined;
    }
    this.drained();
  }
}
