/**
 * Roots of the events a collector stores, for spec §19.3 rule 10, recomputed from the stored
 * line bytes (each line parsed and its seal recomputed, §3) and never from a stored hash.
 *
 * Re-hashing every line on every checkpoint costs O(n) per request (about 0.1 ms a line), so
 * the witness keeps, per source, the compact range (§11.2) of the events under the last
 * checkpoint it cosigned, and re-hashes only the lines after it. Each stored line is re-hashed
 * once per process; the range only ever covers a prefix that was cosigned, and cosigned sizes
 * never shrink, so it never has to be rolled back.
 */
import { parseEventLine } from '../format/event-line.js';
import { CompactRange } from '../merkle/compact-range.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Stored event lines of a source for seq in [from, to), in seq order, without "\n". */
export type EventLineReader = (source: string, from: number, to: number) => AsyncIterable<{ seq: number; line: Uint8Array | string }>;

export interface EventsRoot {
  readonly root: Buffer;
  /** The compact range of the first `size` events, to remember once the size is cosigned. */
  readonly range: CompactRange;
}

/** Thrown when the store hands back lines out of order: the store is broken, not the client. */
export class StoredEventsError extends Error {}

export class EventsRootCache {
  readonly #cosigned = new Map<string, CompactRange>();
  readonly #read: EventLineReader;

  constructor(read: EventLineReader) {
    this.#read = read;
  }

  /** The root of the first `size` stored events, or undefined when fewer are stored. */
  async root(source: string, size: number): Promise<EventsRoot | undefined> {
    const cached = this.#cosigned.get(source);
    const range = cached !== undefined && cached.size <= size ? cached.clone() : CompactRange.empty();
    for await (const { seq, line } of this.#read(source, range.size, size)) {
      if (seq !== range.size) throw new StoredEventsError(`stored events of ${source}: seq ${seq} where ${range.size} was expected`);
      if (seq >= size) break;
      // A line that is not a canonical sealed event throws: the stored copy is damaged.
      range.append(parseEventLine(typeof line === 'string' ? line : UTF8.decode(line)).hash);
    }
    return range.size === size ? { root: range.root(), range } : undefined;
  }

  /** Called after `range.size` was cosigned for `source`. */
  remember(source: string, range: CompactRange): void {
    const cached = this.#cosigned.get(source);
    if (cached === undefined || cached.size <= range.size) this.#cosigned.set(source, range);
  }
}
