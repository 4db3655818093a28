/**
 * A durable consumer (spec §21.5): follow() from where this named consumer last acknowledged,
 * at least once. An acknowledgement is durable when ack() resolves; after a crash the consumer
 * resumes at the first seq it had not acknowledged, so only unacknowledged events come again.
 */
import { InvalidInputError } from '../errors.js';
import type { Keyring } from '../crypto/keyring.js';
import type { SealedEvent } from '../format/event.js';
import type { FeedCursor } from './cursor.js';
import { assertConsumerName, type ConsumerOffset, readOffset, writeOffset } from './consumer-offsets.js';
import { folderPlan, run } from './follow.js';

export interface ConsumerOptions {
  /** Keys to verify signatures with; default: the folder's keyring.json. */
  keyring?: Keyring;
  requireSignatures?: boolean;
  /** Fallback wake-up when no fs.watch notification comes (default 250 ms). */
  pollIntervalMs?: number;
}

export interface ConsumeOptions {
  signal?: AbortSignal;
  /**
   * 'auto' (default): an event is acknowledged when the loop asks for the next one, i.e. after
   * the loop body that handled it finished; leaving the loop (break, throw) acknowledges nothing.
   * 'manual': only ack() acknowledges.
   */
  ack?: 'auto' | 'manual';
}

export class Consumer {
  /** Delivered and not yet acknowledged, oldest first: what ack(seq) may name. */
  private unacked: FeedCursor[] = [];
  private acked: FeedCursor;
  private iterating = false;

  constructor(
    readonly dir: string,
    readonly name: string,
    private readonly options: ConsumerOptions = {},
  ) {
    assertConsumerName(name);
    this.acked = readOffset(dir, name);
  }

  /** The stored offset: the last acknowledged seq (-1: none) and where its line ends. */
  offset(): ConsumerOffset {
    return readOffset(this.dir, this.name);
  }

  /** Events after the last acknowledged one, verified, in seq order, until `signal` aborts. */
  events(options: ConsumeOptions = {}): AsyncGenerator<SealedEvent, void, undefined> {
    if (this.iterating) throw new InvalidInputError('INVALID_ARGUMENT', `consumer ${this.name} is already being iterated`);
    const auto = (options.ack ?? 'auto') === 'auto';
    if (options.ack !== undefined && options.ack !== 'auto' && options.ack !== 'manual') {
      throw new InvalidInputError('INVALID_ARGUMENT', "ack must be 'auto' or 'manual'");
    }
    this.acked = readOffset(this.dir, this.name);
    this.unacked = [];
    const records = run({ ...folderPlan({ dir: this.dir, ...this.options }), cursor: this.acked }, {
      signal: options.signal,
      requireSignatures: this.options.requireSignatures ?? false,
    });
    this.iterating = true;
    return this.deliver(records, auto);
  }

  private async *deliver(records: ReturnType<typeof run>, auto: boolean): AsyncGenerator<SealedEvent, void, undefined> {
    try {
      for await (const r of records) {
        this.unacked.push({ seq: r.event.seq, hash: r.event.hash, offset: r.end });
        yield r.event;
        // Reached only when the consumer pulls again: the body that handled the event is done.
        if (auto) await this.ack(r.event.seq);
      }
    } finally {
      this.iterating = false;
    }
  }

  /**
   * Acknowledge every delivered event up to `seq` (cumulative), durably: when this resolves, a
   * restarted consumer starts after `seq`. Acknowledging an older seq again changes nothing.
   */
  async ack(seq: number): Promise<void> {
    if (!Number.isSafeInteger(seq)) throw new InvalidInputError('INVALID_ARGUMENT', 'seq must be an integer');
    if (seq <= this.acked.seq) return;
    const i = this.unacked.findIndex((c) => c.seq === seq);
    if (i === -1) {
      throw new InvalidInputError('INVALID_ARGUMENT', `seq ${seq} has not been delivered to consumer ${this.name}`, {
        details: { seq, lastDelivered: this.unacked.at(-1)?.seq ?? this.acked.seq },
      });
    }
    const cursor = this.unacked[i]!;
    writeOffset(this.dir, this.name, cursor);
    this.acked = cursor;
    this.unacked.splice(0, i + 1);
  }

  /** Call `handler` for each event and acknowledge it once the handler resolved. */
  async handle(handler: (event: SealedEvent) => unknown, options: { signal?: AbortSignal } = {}): Promise<void> {
    for await (const event of this.events({ signal: options.signal, ack: 'manual' })) {
      await handler(event);
      await this.ack(event.seq);
    }
  }
}

/** A named durable consumer of the ledger folder `dir` (name: letters, digits, . _ -). */
export function consumer(dir: string, name: string, options: ConsumerOptions = {}): Consumer {
  return new Consumer(dir, name, options);
}
