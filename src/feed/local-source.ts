/**
 * The follower in the writing process (spec §21.3): durable up to the head this Ledger has
 * acknowledged (its lines are fsynced before any caller hears of them), woken by the commit
 * signal: no timer, no polling.
 */
import type { RowHint } from './anchor.js';
import type { CommitSignal } from './commit-signal.js';
import type { DurableSource } from './source.js';

export class LocalSource implements DurableSource {
  private seen: number;

  constructor(
    private readonly signal: CommitSignal,
    private readonly durableEnd: () => number,
    readonly hint: RowHint,
  ) {
    this.seen = signal.mark();
  }

  get ended(): boolean {
    return this.signal.ended;
  }

  bound(): Promise<number> {
    this.seen = this.signal.mark();
    return Promise.resolve(this.durableEnd());
  }

  wait(abort?: AbortSignal): Promise<void> {
    return this.signal.wait(this.seen, abort);
  }

  close(): void {}
}
