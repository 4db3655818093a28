/**
 * Checkpoints on the way (spec §20.10): every `everyEvents` shipped events or `everyMs`, a
 * checkpoint of what the collector holds is signed, then given to the collector's witness
 * (C2SP tlog-witness add-checkpoint, with a consistency proof from the last witnessed size), and
 * the cosignature is appended to witness.jsonl beside it.
 *
 * Who signs (ADR 0023): in process, `ledger.checkpoint(key)` (under the writer lock the ledger
 * holds, recorded in checkpoints.jsonl like any checkpoint); the sidecar never takes the writer
 * lock, so it signs a note over the root it re-hashed from the shipped lines itself, recorded
 * only in witness.jsonl. Either way the root is derived from events.jsonl's bytes, and the
 * shipper's own tree must agree with it before anything is sent.
 *
 * Witness failures never stop event shipping: they have their own state, backoff and halt.
 */
import { SealedLedgerError } from '../errors.js';
import type { Ledger } from '../ledger/ledger.js';
import { appendWitnessRecord, cosignedNote, readWitnessLog, type WitnessRecord } from '../ledger/witness-log.js';
import { verifyCosignatures } from '../merkle/cosignature.js';
import { parseCheckpoint } from '../merkle/checkpoint.js';
import { signCheckpoint } from '../merkle/signed-checkpoint.js';
import { parseNote, type NoteSigner } from '../merkle/signed-note.js';
import { encodeBase64 } from '../codec/strict-base64.js';
import { NODE_FILE_IO } from '../store/file-io.js';
import { Backoff, type BackoffOptions, parseRetryAfter } from './backoff.js';
import type { CollectorClient, WitnessReply } from './collector-client.js';
import { JsonlTree } from './jsonl-tree.js';
import { shipError, type ShipLogRecord } from './options.js';
import type { ShipError, ShipperState } from './status.js';

/** Lines hashed per slice: the loop ships a batch between slices. */
const SLICE = 4096;
/** 409s that name yet another size before one checkpoint is cosigned: something else submits. */
const MAX_RESYNCS = 5;

export interface WitnessStatus {
  state: ShipperState;
  /** Largest size the witness is known to have cosigned (from its answers, or witness.jsonl before it answered). */
  witnessedSize: number;
  /** Size of the checkpoint issued and not yet cosigned. */
  pendingSize: number | null;
  lastError: ShipError | null;
  retryAt: string | null;
}

export interface CheckpointerConfig {
  dir: string;
  jsonlPath: string;
  key: NoteSigner & { kid?: string };
  /** The in-process ledger (signs with ledger.checkpoint), or the origin the sidecar signs under. */
  ledger?: Ledger;
  origin: string;
  everyEvents: number;
  everyMs: number;
  /** The witness's verifier keys: a cosignature none of them verifies is not stored. */
  witnessKeys?: readonly string[];
  client: CollectorClient;
  backoff: BackoffOptions;
  random?: () => number;
  haltedRetryMs: number;
  authRetryMs: number;
  now: () => number;
  log: (level: ShipLogRecord['level'], msg: string, fields?: Record<string, unknown>) => void;
  onWitnessed: (record: WitnessRecord) => void;
}

interface Pending {
  size: number;
  root: Buffer;
  note: string;
  proof?: Buffer[];
}

export class Checkpointer {
  private readonly tree: JsonlTree;
  private readonly backoff: Backoff;
  /** The size the witness last cosigned: its answers decide; witness.jsonl only seeds a guess. */
  private witnessed = 0;
  private confirmed = false;
  private pending: Pending | undefined;
  private lastIssuedAt: number;
  private state: ShipperState = 'running';
  private retryAt: number | undefined;
  private lastError: ShipError | null = null;
  private resyncs = 0;
  private rescanOnRetry = false;
  private inflight: AbortController | undefined;
  /** witness.jsonl refused at start (not a regular file): checked again at every retry. */
  private folderError: SealedLedgerError | undefined;

  constructor(private readonly c: CheckpointerConfig) {
    this.tree = new JsonlTree(c.jsonlPath);
    this.backoff = new Backoff(c.backoff, c.random);
    this.lastIssuedAt = c.now();
    // witness.jsonl is writable by whoever owns the folder: its last size is only the first
    // guess of `old`; a wrong one costs one 409, which names the true size.
    let guess = 0;
    try {
      for (const l of readWitnessLog(c.dir)) if (l.record) guess = l.record.size;
    } catch (e) {
      // A link in its place (spec §7.1) would also be where the records go: the witness halts
      // on it at the first step, and events ship on.
      if (e instanceof SealedLedgerError) this.folderError = e;
      else c.log('warn', 'cannot read witness.jsonl; asking the witness', { error: String((e as Error).message) });
    }
    this.witnessed = guess;
    this.tree.restart(guess);
  }

  status(): WitnessStatus {
    return {
      state: this.state,
      witnessedSize: this.witnessed,
      pendingSize: this.pending?.size ?? null,
      lastError: this.lastError,
      retryAt: this.retryAt === undefined ? null : new Date(this.retryAt).toISOString(),
    };
  }

  abort(): void {
    this.inflight?.abort();
  }

  close(): void {
    this.tree.close();
  }

  /**
   * One slice of work given that the collector holds seqs below `shipped` and events.jsonl is
   * durable up to byte `end`: hash lines, issue a checkpoint, or make one witness request.
   * Returns 0 to be called again at once, a delay in ms, or undefined: nothing until more is shipped.
   */
  async step(shipped: number, end: number): Promise<number | undefined> {
    const now = this.c.now();
    if (this.retryAt !== undefined) {
      if (now < this.retryAt) return this.retryAt - now;
      if (this.rescanOnRetry) {
        this.rescanOnRetry = false;
        this.tree.restart(this.witnessed);
        if (this.pending) this.pending.proof = undefined;
      }
    }
    try {
      if (this.folderError) {
        readWitnessLog(this.c.dir); // throws while it is still no regular file
        this.folderError = undefined;
      }
      return await this.work(shipped, end, now);
    } catch (e) {
      // Never swallowed: a halt with the code, logged at error, retried after a rescan.
      const errno = (e as NodeJS.ErrnoException).code;
      if (!(e instanceof SealedLedgerError) && typeof errno !== 'string') throw e;
      this.rescanOnRetry = true;
      const code = e instanceof SealedLedgerError ? e.code : 'IO_ERROR';
      return this.halt(shipError({ code, message: `checkpoint: ${(e as Error).message}` }, this.c.now()), this.c.haltedRetryMs);
    }
  }

  private async work(shipped: number, end: number, now: number): Promise<number | undefined> {
    const target = Math.min(shipped, this.pending?.size ?? Infinity);
    if (this.tree.size < target && this.tree.extend(target, end, SLICE) === SLICE && this.tree.size < target) return 0;
    // Every durable line is hashed and the tree is still short of where it is asked to be.
    const atHostEnd = this.tree.size < target && this.tree.offset >= end;
    if (this.tree.keptState === undefined) {
      // The tree has not reached the witnessed size.
      if (this.tree.size < target && !atHostEnd) return 0;
      if (shipped < this.witnessed && !atHostEnd) return undefined; // the collector is behind: wait for it
      if (!this.confirmed) {
        this.c.log('warn', 'witness.jsonl names a size this host does not hold; asking the witness instead', { size: this.witnessed, hostEvents: this.tree.size });
        this.witnessed = 0;
        this.tree.restart(0);
        return 0;
      }
      return this.halt(
        shipError({ code: 'WITNESS_AHEAD', message: `the witness cosigned a checkpoint of size ${this.witnessed}, but this host holds ${this.tree.size} events: the ledger was truncated or rolled back after it was witnessed` }, now),
        this.c.haltedRetryMs,
      );
    }
    if (!this.pending) {
      const size = this.tree.size;
      const due = size - this.witnessed >= this.c.everyEvents || (size > this.witnessed && now - this.lastIssuedAt >= this.c.everyMs);
      if (!due) return size > this.witnessed ? Math.max(1, this.lastIssuedAt + this.c.everyMs - now) : undefined;
      this.pending = await this.issue(size);
      this.lastIssuedAt = now;
      this.c.log('info', 'checkpoint issued', { size: this.pending.size, root: this.pending.root.toString('hex'), witnessedSize: this.witnessed });
      return 0;
    }
    const p = this.pending;
    if (shipped < p.size) return undefined; // its events are not all at the collector yet
    if (this.tree.size < p.size) {
      if (!atHostEnd) return 0;
      this.pending = undefined;
      throw new SealedLedgerError('LEDGER_CORRUPT', `events.jsonl no longer holds the ${p.size} events of the checkpoint issued: it was truncated`);
    }
    if (!this.tree.root().equals(p.root)) {
      this.pending = undefined;
      throw new SealedLedgerError('CHECKPOINT_INCONSISTENT', `the checkpoint of size ${p.size} names a root other than the shipper's own hashing of events.jsonl gives: nothing sent to the witness`);
    }
    p.proof ??= this.tree.consistencyProof();
    const old = this.witnessed;
    const body = Buffer.from(`old ${old}\n${p.proof.map((h) => encodeBase64(h) + '\n').join('')}\n${p.note}`, 'utf8');
    let reply: WitnessReply;
    const ac = new AbortController();
    this.inflight = ac;
    try {
      reply = await this.c.client.addCheckpoint(body, ac.signal);
    } catch (e) {
      const errno = (e as { code?: string }).code;
      return this.failed(shipError({ code: 'NETWORK', message: `witness: ${errno ? errno + ': ' : ''}${(e as Error).message}` }, this.c.now()));
    } finally {
      this.inflight = undefined;
    }
    return this.onReply(reply, p, old);
  }

  /** Sign a checkpoint of the first `size` events (sidecar), or of the ledger's head (in process). */
  private async issue(size: number): Promise<Pending> {
    if (this.c.ledger) {
      const note = await this.c.ledger.checkpoint(this.c.key);
      const body = parseCheckpoint(parseNote(note).text);
      return { size: body.size, root: Buffer.from(body.rootHash), note };
    }
    const root = this.tree.root();
    return { size, root, note: signCheckpoint({ origin: this.c.origin, size, rootHash: root }, [this.c.key]) };
  }

  private onReply(reply: WitnessReply, p: Pending, old: number): number | undefined {
    const now = this.c.now();
    const first = reply.text.split('\n')[0]!.slice(0, 200);
    switch (reply.status) {
      case 200:
        return this.cosigned(reply.text, p);
      case 409: {
        const m = /^(0|[1-9][0-9]{0,15})\n?$/.exec(reply.text);
        const known = m ? Number(m[1]) : NaN;
        if (!Number.isSafeInteger(known)) return this.halt(shipError({ code: 'WITNESS_PROTOCOL', status: 409, message: `witness answered 409 without a size: ${first}` }, now), this.c.haltedRetryMs);
        if (known === old || ++this.resyncs > MAX_RESYNCS) {
          // The witness holds `old` and still refused: another root at that size, or a root that
          // contradicts the events the collector stores. Evidence is kept there.
          this.rescanOnRetry = true;
          return this.halt(
            shipError({ code: 'WITNESS_CONFLICT', status: 409, seq: p.size, message: `the witness refused the checkpoint of size ${p.size}: it holds another history of this log (size ${known}); fork evidence is kept at the collector` }, now),
            this.c.haltedRetryMs,
          );
        }
        this.c.log('info', 'witness holds another size; resyncing', { sent: old, known });
        this.witnessed = known;
        this.confirmed = true;
        if (known > p.size) this.pending = undefined;
        else p.proof = undefined;
        this.tree.restart(known);
        return 0;
      }
      case 422:
        this.rescanOnRetry = true;
        return this.halt(
          shipError({ code: 'WITNESS_REFUSED', status: 422, seq: p.size, reason: first, message: `the witness refused the consistency proof from size ${old} to ${p.size}: this host's history does not extend the checkpoint it cosigned (${first})` }, now),
          this.c.haltedRetryMs,
        );
      case 401:
      case 403:
        return this.halt(shipError({ code: 'WITNESS_FORBIDDEN', status: reply.status, reason: first, message: `the witness trusts no key that signed this checkpoint (register the checkpoint key with the source): ${first}` }, now), this.c.authRetryMs);
      case 404:
        return this.halt(shipError({ code: 'WITNESS_UNKNOWN_LOG', status: 404, reason: first, message: `the collector knows no log of origin ${parseCheckpoint(parseNote(p.note).text).origin}, or serves no witness: ${first}` }, now), this.c.authRetryMs);
      case 429:
      case 503:
        return this.failed(shipError({ code: `HTTP_${reply.status}`, status: reply.status, message: `witness: ${first}` }, now), parseRetryAfter(reply.retryAfter, now));
      default:
        if (reply.status >= 500) return this.failed(shipError({ code: `HTTP_${reply.status}`, status: reply.status, message: `witness: ${first}` }, now));
        return this.halt(shipError({ code: 'WITNESS_PROTOCOL', status: reply.status, reason: first, message: `unexpected witness answer ${reply.status}: ${first}` }, now), this.c.haltedRetryMs);
    }
  }

  private cosigned(text: string, p: Pending): number | undefined {
    const now = this.c.now();
    const lines = text.split('\n').filter((l) => l !== '');
    const names = lines.map((l) => /^\u2014 (\S+) \S+$/.exec(l)?.[1]);
    if (lines.length === 0 || names.some((n) => n === undefined)) {
      return this.halt(shipError({ code: 'WITNESS_PROTOCOL', status: 200, message: 'the witness answered 200 without cosignature lines' }, now), this.c.haltedRetryMs);
    }
    let witness = names[0]!;
    if (this.c.witnessKeys) {
      // A collector that is not the witness the operator trusts (another key, a forged line)
      // would fill witness.jsonl with records no verifier accepts: nothing is stored.
      let by: string | undefined;
      let why = 'no cosignature by a configured witness key';
      try {
        by = verifyCosignatures(cosignedNote({ note: p.note, cosignatures: lines }), this.c.witnessKeys)[0]?.name;
      } catch (e) {
        if (!(e instanceof SealedLedgerError)) throw e;
        why = `a cosignature does not verify: ${e.message}`;
      }
      if (by === undefined) {
        // It answered this very checkpoint: the 409 that the retry's `old` gets is no sign of
        // another submitter, so it does not count towards the resync limit.
        this.resyncs = 0;
        return this.halt(
          shipError({ code: 'WITNESS_UNTRUSTED', status: 200, seq: p.size, reason: why, message: `the witness answered for the checkpoint of size ${p.size} with cosignatures by ${names.join(', ')}: ${why}; nothing stored` }, now),
          this.c.haltedRetryMs,
        );
      }
      witness = by;
    }
    const record: WitnessRecord = {
      size: p.size,
      root: p.root.toString('hex'),
      note: p.note,
      cosignatures: lines,
      witness,
      at: new Date(now).toISOString(),
    };
    appendWitnessRecord(this.c.dir, record, NODE_FILE_IO);
    this.tree.keepCurrent();
    this.witnessed = p.size;
    this.confirmed = true;
    this.pending = undefined;
    this.resyncs = 0;
    this.backoff.reset();
    this.retryAt = undefined;
    this.c.log('info', 'checkpoint witnessed', { size: record.size, witness: record.witness });
    if (this.state !== 'running') {
      this.lastError = null;
      this.setState('running');
    }
    this.c.onWitnessed(record);
    return 0;
  }

  private failed(err: ShipError, retryAfterMs?: number): number {
    const ms = retryAfterMs ?? this.backoff.next();
    this.lastError = err;
    this.retryAt = this.c.now() + ms;
    if (this.state !== 'backing-off') this.setState('backing-off', { error: err, retryInMs: ms });
    return ms;
  }

  private halt(err: ShipError, retryMs: number): number {
    this.lastError = err;
    this.retryAt = this.c.now() + retryMs;
    if (this.state !== 'halted') this.setState('halted', { error: err, retryInMs: retryMs });
    else this.c.log('error', 'witness still halted', { error: err, retryInMs: retryMs });
    return retryMs;
  }

  private setState(state: ShipperState, fields: Record<string, unknown> = {}): void {
    this.state = state;
    const level = state === 'halted' ? 'error' : state === 'backing-off' ? 'warn' : 'info';
    this.c.log(level, 'witness state', { state, ...fields, witnessedSize: this.witnessed, pendingSize: this.pending?.size ?? null });
  }
}
