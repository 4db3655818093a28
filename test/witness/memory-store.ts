/**
 * A WitnessStateStore in memory for the decision tests. Its compare-and-swap is synchronous
 * (nothing can interleave inside it), which is the guarantee the real stores give with a row
 * lock; `beforeSwap` lets a test run another request between the check and the swap.
 */
import { CompactRange } from '../../src/merkle/compact-range.js';
import type {
  CosignedCheckpoint,
  RecordCosignedResult,
  WitnessForkEvidence,
  WitnessLog,
  WitnessStateStore,
} from '../../src/witness/state.js';

export class MemoryWitnessStore implements WitnessStateStore {
  readonly logs = new Map<string, WitnessLog>();
  readonly state = new Map<string, CosignedCheckpoint>();
  readonly forks: { source: string; evidence: WitnessForkEvidence }[] = [];
  /** Leaf hashes of the events "shipped" per source; absent means the store holds none. */
  readonly events = new Map<string, Buffer[]>();
  beforeSwap: (() => Promise<void>) | undefined;
  swaps = 0;
  /** Stored event lines per source, served through eventLines when the store has lines. */
  readonly lines = new Map<string, string[]>();
  linesRead = 0;
  eventLines?: WitnessStateStore['eventLines'];

  /** `withLines`: serve eventLines (the incremental path) instead of rootFromEvents. */
  constructor(options: { withLines?: boolean } = {}) {
    if (options.withLines) {
      const store = this;
      this.eventLines = async function* (source: string, from: number, to: number) {
        const lines = store.lines.get(source) ?? [];
        for (let seq = from; seq < Math.min(to, lines.length); seq++) {
          store.linesRead++;
          yield { seq, line: Buffer.from(lines[seq]!, 'utf8') };
        }
      };
    }
  }

  addLog(log: WitnessLog): void {
    this.logs.set(log.origin, log);
  }

  async logByOrigin(origin: string): Promise<WitnessLog | undefined> {
    return this.logs.get(origin);
  }

  async latestCosigned(source: string): Promise<CosignedCheckpoint | undefined> {
    return this.state.get(source);
  }

  async recordCosigned(
    source: string,
    expected: { readonly size: number; readonly rootHash: Buffer } | undefined,
    next: CosignedCheckpoint,
  ): Promise<RecordCosignedResult> {
    const hook = this.beforeSwap;
    this.beforeSwap = undefined;
    if (hook) await hook();
    const current = this.state.get(source);
    const unchanged =
      expected === undefined
        ? current === undefined
        : current !== undefined && current.size === expected.size && current.rootHash.equals(expected.rootHash);
    if (!unchanged) return { ok: false, current };
    this.state.set(source, next);
    this.swaps++;
    return { ok: true };
  }

  async recordFork(source: string, evidence: WitnessForkEvidence): Promise<void> {
    this.forks.push({ source, evidence });
  }

  async rootFromEvents(source: string, size: number): Promise<Buffer | undefined> {
    const leaves = this.events.get(source);
    if (leaves === undefined || leaves.length < size) return undefined;
    return CompactRange.fromLeaves(leaves.slice(0, size)).root();
  }
}
