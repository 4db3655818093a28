/**
 * The shipper (spec §20): the log is the queue. It asks the collector where the source's chain
 * ends, reads events.jsonl from there by offset, sends one batch at a time and moves on only as
 * far as the collector says it holds. At-least-once sending plus the collector's (source, seq)
 * dedup is exactly once at the collector (ADR 0019).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { ledgerPaths } from '../store/layout.js';
import { type Ledger, writerOf } from '../ledger/ledger.js';
import { readOrCreateMetadata } from '../ledger/metadata.js';
import type { WitnessRecord } from '../ledger/witness-log.js';
import { InvalidInputError, SealedLedgerError } from '../errors.js';
import { NODE_FILE_IO } from '../store/file-io.js';
import { Checkpointer } from './checkpointer.js';
import { Backoff, parseRetryAfter } from './backoff.js';
import { CollectorClient, type IngestReply } from './collector-client.js';
import { defaultCursorFile, writeCursorFile } from './cursor-file.js';
import { type DurableEnd, FolderDurableEnd, LedgerDurableEnd } from './durable-end.js';
import { type Batch, EventsReader, type Position } from './events-reader.js';
import { readToken, resolveOptions, type ResolvedOptions, shipError, type ShipLogRecord, type ShipperOptions } from './options.js';
import { replyAction } from './reply-action.js';
import type { ShipError, ShipperState, ShipperStatus } from './status.js';
import { watchFolder, type Waker } from './wake.js';

/** How the loop waits: `ms` undefined = until woken; `wakeable` = a commit or file change ends the wait. */
interface Wait {
  ms: number | undefined;
  wakeable: boolean;
}

const NOW: Wait = { ms: 0, wakeable: true };
const IDLE: Wait = { ms: undefined, wakeable: true };

export interface ShipperEvents {
  /** After each batch the collector took: the last seq it now holds. */
  shipped: [{ through: number; accepted: number; duplicates: number }];
  halted: [ShipError];
  resumed: [ShipperStatus];
  state: [ShipperStatus];
  /** A checkpoint was cosigned and its record appended to witness.jsonl (spec §20.10). */
  witnessed: [WitnessRecord];
}

export class Shipper extends EventEmitter<ShipperEvents> {
  private readonly o: ResolvedOptions;
  private readonly client: CollectorClient;
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private readonly jsonlPath: string;
  private readonly cursorFile: string | undefined;
  private token: string;
  private reader: EventsReader | undefined;
  private durable: DurableEnd | undefined;
  private waker: Waker | undefined;
  private unhookLedger: (() => void) | undefined;
  private readonly checkpointer: Checkpointer | undefined;

  private state: ShipperState = 'running';
  /** Next seq the collector expects; undefined until it said so. */
  private next: number | undefined;
  /** Where line `next` starts, once located. */
  private position: Position | undefined;
  /** A known line start at or before `next`, to locate from without rescanning. */
  private anchor: Position = { seq: 0, offset: 0 };
  /** Resend the last line the collector holds once: a rewritten history shows as FORK (spec §20.1). */
  private overlap = false;
  private headSeq = -1;
  private headEnd = -1;
  private oldestUnshippedAt: string | undefined;
  private lastError: ShipError | null = null;
  private retryAt: number | undefined;
  private batchLines: number;
  private batchBytes: number;

  private stopping = false;
  private draining = false;
  private drainUntil = 0;
  private inflight: AbortController | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private sleepingWakeable = false;
  private readonly done: Promise<void>;
  private stopped: Promise<void> | undefined;
  private lastCursorWrite = 0;

  constructor(private readonly options: ShipperOptions) {
    super();
    this.o = resolveOptions(options);
    this.token = readToken(options);
    this.now = options.now ?? Date.now;
    this.backoff = new Backoff(this.o.backoff, options.random);
    this.batchLines = this.o.maxBatchLines;
    this.batchBytes = this.o.maxBatchBytes;
    const dir = options.ledger ? writerOf(options.ledger).files.paths.dir : ledgerPaths(options.dir!).dir;
    this.jsonlPath = ledgerPaths(dir).jsonl;
    this.cursorFile = options.cursorFile === false ? undefined : (options.cursorFile ?? defaultCursorFile(dir, this.o.source));
    this.client = new CollectorClient({ url: this.o.url, source: this.o.source, ca: options.ca, timeoutMs: this.o.requestTimeoutMs });
    const ledger = options.ledger;
    if (options.checkpointKey) {
      this.checkpointer = new Checkpointer({
        dir,
        jsonlPath: this.jsonlPath,
        key: options.checkpointKey,
        ...(ledger ? { ledger } : {}),
        origin: ledger ? writerOf(ledger).metadata.origin : folderOrigin(dir),
        everyEvents: this.o.checkpointEveryEvents,
        everyMs: this.o.checkpointEveryMs,
        ...(options.witnessKeys ? { witnessKeys: options.witnessKeys } : {}),
        client: this.client,
        backoff: this.o.backoff,
        ...(options.random ? { random: options.random } : {}),
        haltedRetryMs: this.o.haltedRetryMs,
        authRetryMs: this.o.authRetryMs,
        now: this.now,
        log: (level, msg, fields) => this.log(level, msg, fields),
        onWitnessed: (record) => {
          this.writeCursor(true);
          this.emit('witnessed', record);
        },
      });
    }
    if (ledger) {
      const offCommit = ledger.onCommit(() => this.wake());
      const offClose = ledger.onClose(() => this.stop());
      this.unhookLedger = () => {
        offCommit();
        offClose();
      };
    } else {
      this.waker = watchFolder(this.jsonlPath, this.o.pollMs, () => this.wake());
    }
    this.log('info', 'shipper started', { dir, watching: this.waker ? this.waker.watching : 'commits' });
    // Startup never waits for the collector: the loop runs in the background from here.
    this.done = this.loop();
  }

  status(): ShipperStatus {
    const shippedThrough = this.next === undefined ? null : this.next - 1;
    const lagEvents = Math.max(0, this.headSeq - (shippedThrough ?? -1));
    const at = lagEvents > 0 && this.oldestUnshippedAt ? Date.parse(this.oldestUnshippedAt) : NaN;
    return {
      source: this.o.source,
      url: this.o.url,
      state: this.state,
      shippedThrough,
      head: this.headSeq,
      lagEvents,
      lagSeconds: Number.isNaN(at) ? 0 : Math.max(0, (this.now() - at) / 1000),
      lastError: this.lastError,
      retryAt: this.retryAt === undefined ? null : new Date(this.retryAt).toISOString(),
      batchLines: this.batchLines,
      stopped: this.stopped !== undefined,
      witness: this.checkpointer?.status() ?? null,
    };
  }

  /** Look at the file now (a commit, a file change). Does not cut a backoff short. */
  wake(): void {
    this.woken = true;
    if (this.sleepingWakeable) this.wakeUp?.();
  }

  /**
   * Ship what is durable for at most `drainMs` (default: the option, 5 s), then abort any request
   * in flight and release everything. Never waits longer on a dead or silent collector.
   */
  stop(options: { drainMs?: number } = {}): Promise<void> {
    this.stopped ??= this.shutdown(options.drainMs ?? this.o.drainMs);
    return this.stopped;
  }

  private async shutdown(drainMs: number): Promise<void> {
    this.draining = true;
    this.drainUntil = this.now() + drainMs;
    this.woken = true;
    this.wakeUp?.();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainMs);
    });
    await Promise.race([this.done, deadline]);
    clearTimeout(timer);
    this.stopping = true;
    this.inflight?.abort();
    this.checkpointer?.abort();
    this.wakeUp?.();
    await this.done;
    this.unhookLedger?.();
    this.waker?.close();
    this.durable?.close();
    this.checkpointer?.close();
    await this.reader?.close().catch((e: unknown) => this.log('warn', 'closing events.jsonl failed', { error: String(e) }));
    await this.client.close();
    this.writeCursor(true);
    this.log('info', 'shipper stopped', { shippedThrough: this.status().shippedThrough, head: this.headSeq });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let wait: Wait;
      try {
        wait = await this.step();
      } catch (e) {
        if (this.stopping) break;
        wait = this.failed(localError(e, this.now()));
      }
      this.writeCursor(false);
      // Draining: stop once caught up, or when the next attempt is due after the bound; a short
      // backoff inside the bound is waited out (a reset connection must not end the drain).
      if (this.draining && wait.ms !== 0 && (wait.ms === undefined || wait.ms >= this.drainUntil - this.now())) {
        // A commit seen during the step may have added lines after it looked: one more look.
        if (!(wait.ms === undefined && this.woken)) break;
        this.woken = false;
        continue;
      }
      if (wait.ms === 0) continue;
      await this.sleep(wait);
    }
  }

  private sleep(wait: Wait): Promise<void> {
    if (wait.wakeable && this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = wait.ms === undefined ? undefined : setTimeout(done, wait.ms);
      this.sleepingWakeable = wait.wakeable;
      this.wakeUp = done;
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeUp = undefined;
        self.sleepingWakeable = false;
        self.woken = false;
        resolve();
      }
      if (this.stopping) done();
    });
  }

  /** One look at the file and at most one request. */
  private async step(): Promise<Wait> {
    if (this.retryAt !== undefined && this.now() < this.retryAt) return { ms: this.retryAt - this.now(), wakeable: false };
    await this.openFiles();
    if (this.next === undefined) {
      const reply = await this.request((signal) => this.client.head(this.token, signal));
      if (reply instanceof Wait_) return reply.wait;
      if (reply.status !== 200) return this.onFailure(reply, undefined);
      const next = replyAction(reply);
      if (next.kind !== 'advance') return this.onFailure(reply, undefined);
      this.moveTo(next.next, undefined);
      this.overlap = true;
      this.log('info', 'collector head', { next: next.next });
    }
    // Read after the head lookup: appends acknowledged while it was in flight count.
    const end = await this.durable!.end();
    if (end !== this.headEnd) {
      this.headSeq = (await this.reader!.lastLine(end))?.seq ?? -1;
      this.headEnd = end;
    }
    // Checkpoints: at most one slice of hashing or one witness request per step, beside the batch.
    const checkpointWait = this.checkpointer && !this.draining ? await this.checkpointer.step(this.next!, end) : undefined;
    if (this.position === undefined) {
      const from = this.overlap && this.next! > 0 ? this.next! - 1 : this.next!;
      this.overlap = false;
      const found = await this.reader!.locate(from, end, this.anchor);
      if (found.found) this.position = { seq: from, offset: found.offset };
      else {
        // The collector holds more than this host (a host restored from a backup): send what
        // comes next from here, so that the collector compares it (duplicate, or FORK).
        if (found.count < from) {
          this.log('warn', 'the collector holds more events than this host', { collectorNext: this.next, hostEvents: found.count });
        }
        this.position = { seq: found.count, offset: found.offset };
      }
    }
    const batch = await this.reader!.readBatch(this.position, end, this.batchLines, this.batchBytes);
    if (!batch) {
      this.oldestUnshippedAt = undefined;
      this.succeeded();
      return checkpointWait === undefined ? IDLE : { ms: checkpointWait, wakeable: true };
    }
    this.oldestUnshippedAt = batch.firstAt;
    const reply = await this.request((signal) => this.client.send(this.token, batch.bytes, signal));
    if (reply instanceof Wait_) return reply.wait;
    return this.onReply(reply, batch);
  }

  private async openFiles(): Promise<void> {
    if (this.reader) return;
    this.reader = await EventsReader.open(this.jsonlPath);
    const ledger = this.options.ledger;
    this.durable = ledger
      ? new LedgerDurableEnd(() => writerOf(ledger).head)
      : new FolderDurableEnd(ledgerPaths(this.options.dir!).sqlite, this.reader, this.o.settleMs, this.now);
  }

  /** One request, abortable by stop(); a network failure becomes a backoff. */
  private async request(call: (signal: AbortSignal) => Promise<IngestReply>): Promise<IngestReply | Wait_> {
    const ac = new AbortController();
    this.inflight = ac;
    try {
      return await call(ac.signal);
    } catch (e) {
      if (this.stopping) return new Wait_(NOW);
      const errno = (e as { code?: string }).code;
      return new Wait_(this.failed(shipError({ code: 'NETWORK', message: `${errno ? errno + ': ' : ''}${(e as Error).message}` }, this.now())));
    } finally {
      this.inflight = undefined;
    }
  }

  private onReply(reply: IngestReply, batch: Batch): Wait {
    const action = replyAction(reply);
    switch (action.kind) {
      case 'advance':
        this.moveTo(action.next, batch);
        this.succeeded();
        this.emit('shipped', { through: action.next - 1, accepted: action.accepted, duplicates: action.duplicates });
        return NOW;
      case 'rewind':
        this.log('warn', 'collector asked to resume earlier (SEQ_GAP)', { from: batch.firstSeq, next: action.next });
        if (action.next >= batch.firstSeq) return this.failed(shipError({ code: 'SEQ_GAP', status: 409, message: `SEQ_GAP with next ${action.next} at or after the batch's first seq ${batch.firstSeq}` }, this.now()));
        this.moveTo(action.next, undefined);
        return NOW;
      case 'shrink':
        if (batch.lines > 1) {
          this.batchLines = Math.max(1, Math.floor(batch.lines / 2));
          this.batchBytes = Math.max(1, Math.floor(batch.bytes.length / 2));
          this.log('warn', 'collector refused the batch size (413); halving it', { lines: this.batchLines, bytes: this.batchBytes });
          return NOW;
        }
        return this.halt(shipError({ code: 'PAYLOAD_TOO_LARGE', status: 413, seq: batch.firstSeq, message: `the collector refuses event ${batch.firstSeq} alone (${batch.bytes.length} bytes)` }, this.now()), this.o.haltedRetryMs);
      case 'poison':
        // Lines before the bad one were accepted: move to it, never past it.
        if (action.next !== undefined) this.moveTo(action.next, batch);
        return this.halt(shipError({ code: action.code, status: 422, seq: action.seq ?? action.next, reason: action.reason, message: `collector refused event ${action.seq ?? action.next}: ${action.code}: ${action.reason}` }, this.now()), this.o.haltedRetryMs);
      case 'fork':
        return this.halt(shipError({ code: 'FORK', status: 409, seq: action.seq, reason: action.reason, message: `the collector holds a different event at seq ${action.seq}: this host's history was rewritten after it was shipped` }, this.now()), this.o.haltedRetryMs);
      default:
        return this.onFailure(reply, batch);
    }
  }

  /** Failures common to GET and POST. */
  private onFailure(reply: IngestReply, batch: Batch | undefined): Wait {
    const action = replyAction(reply);
    const seq = batch?.firstSeq;
    switch (action.kind) {
      case 'auth': {
        try {
          if (this.options.tokenFile !== undefined) this.token = readToken(this.options);
        } catch (e) {
          this.log('error', 'token file unreadable', { error: String((e as Error).message) });
        }
        return this.halt(shipError({ code: action.code, status: reply.status, message: `collector refused our credentials for source ${this.o.source}: ${action.reason}` }, this.now()), this.o.authRetryMs);
      }
      case 'transient': {
        const err = shipError({ code: action.code, status: reply.status, message: action.reason, ...(seq === undefined ? {} : { seq }) }, this.now());
        const after = parseRetryAfter(action.retryAfter, this.now());
        return this.failed(err, after);
      }
      case 'advance':
        return this.failed(shipError({ code: 'BAD_REPLY', status: reply.status, message: 'unexpected reply' }, this.now()));
      default: {
        const code = 'code' in action ? action.code : `HTTP_${reply.status}`;
        const reason = 'reason' in action ? action.reason : `HTTP ${reply.status}`;
        return this.halt(shipError({ code, status: reply.status, message: `unexpected collector reply: ${reason}`, ...(seq === undefined ? {} : { seq }) }, this.now()), this.o.haltedRetryMs);
      }
    }
  }

  /** The collector holds everything before `next`; `batch` (when the reply was to it) locates it cheaply. */
  private moveTo(next: number, batch: Batch | undefined): void {
    this.next = next;
    if (batch && this.position && next === batch.lastSeq + 1) {
      this.position = { seq: next, offset: batch.endOffset };
      this.anchor = this.position;
      return;
    }
    if (batch && this.position && next >= batch.firstSeq && next <= batch.lastSeq) {
      let offset = this.position.offset;
      for (let i = 0, seq = batch.firstSeq; seq < next; seq++) {
        const nl = batch.bytes.indexOf(0x0a, i);
        offset += nl + 1 - i;
        i = nl + 1;
      }
      this.position = { seq: next, offset };
      this.anchor = this.position;
      return;
    }
    if (this.position && this.position.seq <= next) this.anchor = this.position;
    this.position = undefined;
  }

  private succeeded(): void {
    this.backoff.reset();
    this.retryAt = undefined;
    if (this.state !== 'running') {
      this.lastError = null;
      this.setState('running');
      this.emit('resumed', this.status());
    }
  }

  /** A transient failure: back off (or wait as Retry-After says). */
  private failed(err: ShipError, retryAfterMs?: number): Wait {
    const ms = retryAfterMs ?? this.backoff.next();
    this.lastError = err;
    this.retryAt = this.now() + ms;
    if (this.state !== 'backing-off') this.setState('backing-off', { error: err, retryInMs: ms });
    return { ms, wakeable: false };
  }

  /** Halted until an attempt every `retryMs` succeeds; every such attempt is logged at error. */
  private halt(err: ShipError, retryMs: number): Wait {
    this.lastError = err;
    this.retryAt = this.now() + retryMs;
    if (this.state !== 'halted') {
      this.setState('halted', { error: err, retryInMs: retryMs });
      this.emit('halted', err);
    } else {
      this.log('error', 'still halted', { error: err, retryInMs: retryMs });
    }
    return { ms: retryMs, wakeable: false };
  }

  private setState(state: ShipperState, fields: Record<string, unknown> = {}): void {
    this.state = state;
    const level = state === 'halted' ? 'error' : state === 'backing-off' ? 'warn' : 'info';
    this.log(level, 'state', { state, ...fields, shippedThrough: this.status().shippedThrough, head: this.headSeq });
    this.writeCursor(true);
    this.emit('state', this.status());
  }

  private log(level: ShipLogRecord['level'], msg: string, fields: Record<string, unknown> = {}): void {
    this.options.log?.({ level, msg, source: this.o.source, time: new Date(this.now()).toISOString(), ...fields });
  }

  /** Metrics only: at most once a second, plus at every state change and at stop. */
  private writeCursor(force: boolean): void {
    if (!this.cursorFile) return;
    const now = this.now();
    if (!force && now - this.lastCursorWrite < 1000) return;
    this.lastCursorWrite = now;
    try {
      writeCursorFile(this.cursorFile, this.status(), new Date(now));
    } catch (e) {
      this.log('warn', 'cannot write the status file (shipping goes on)', { path: this.cursorFile, error: String((e as Error).message) });
    }
  }
}

/** A wait decided inside request(), told apart from a reply. */
class Wait_ {
  constructor(readonly wait: Wait) {}
}

function localError(e: unknown, now: number): ShipError {
  if (e instanceof SealedLedgerError) return shipError({ code: e.code, message: e.message }, now);
  return shipError({ code: 'INTERNAL', message: String((e as Error)?.stack ?? e) }, now);
}

/** The sidecar signs under the folder's origin; without ledger.json there is none to sign under. */
function folderOrigin(dir: string): string {
  const path = ledgerPaths(dir).metadata;
  if (!fs.existsSync(path)) throw new InvalidInputError('INVALID_ARGUMENT', `${path} is missing: checkpoints need the ledger's origin`, { details: { path } });
  return readOrCreateMetadata(path, undefined, NODE_FILE_IO, true).origin;
}

/** Start shipping a ledger to a collector; returns at once (spec §20.1). */
export function startShipper(options: ShipperOptions): Shipper {
  return new Shipper(options);
}

