/**
 * The witness's add-checkpoint decision (C2SP tlog-witness), independent of HTTP and of the
 * store. The rules, in the order of the table of spec §19.3:
 *
 *  1 400 malformed body or note            7 422 non-empty proof at the cosigned size
 *  2 404 unknown origin                    8 409 another root at the cosigned size (evidence)
 *  3 403 no valid trusted signature        9 422 consistency proof from the cosigned root fails
 *  4 400 not a checkpoint                 10 409 root differs from the stored events (evidence)
 *  5 400 old size > checkpoint size       11 409 the state changed before the swap
 *  6 409 old size != cosigned size           200 cosigned, state swapped
 *
 * The origin line is read before verification only to find the keys. Never cosigned: a smaller
 * size (6), another root at a known size (6, 8, 10), a tree that does not extend the cosigned
 * one (9), anything after a concurrent change (11).
 */
import { sha256 } from '../crypto/hash.js';
import { ProofError, isSealedLedgerError } from '../errors.js';
import { cosignCheckpoint, cosignatureVerifierOf, type CosignatureSigner } from '../merkle/cosignature.js';
import { emptyTreeRoot } from '../merkle/root.js';
import { verifyCheckpoint, type VerifiedCheckpoint } from '../merkle/signed-checkpoint.js';
import { parseNote } from '../merkle/signed-note.js';
import { encodeBase64 } from '../codec/strict-base64.js';
import { verifyConsistency } from '../merkle/verify.js';
import type { CompactRange } from '../merkle/compact-range.js';
import { EventsRootCache } from './events-root.js';
import { parseAddCheckpointRequest } from './request.js';
import type { CosignedCheckpoint, WitnessForkEvidence, WitnessForkKind, WitnessStateStore } from './state.js';

export interface WitnessOptions {
  readonly store: WitnessStateStore;
  /** The witness keys; each adds one cosignature line. At least one. */
  readonly signers: readonly CosignatureSigner[];
  /** POSIX seconds for the cosignature timestamp; defaults to the system clock. */
  readonly now?: () => number;
}

export type AddCheckpointOutcome =
  | {
      readonly status: 200;
      readonly source: string;
      /** The cosignature lines, each ending in "\n": the response body. */
      readonly cosignatures: string;
      readonly checkpoint: CosignedCheckpoint;
    }
  | {
      readonly status: 409;
      readonly reason: string;
      /** The size of the latest cosigned checkpoint: the response body. */
      readonly knownSize: number;
      readonly source: string;
      /** Set when the request was kept as fork evidence. */
      readonly fork?: WitnessForkEvidence;
    }
  | {
      readonly status: 400 | 403 | 404 | 422;
      readonly reason: string;
      readonly source?: string;
      readonly fork?: WitnessForkEvidence;
    };

const SIGNATURE_PREFIX = '\u2014 ';
const MAX_REMEMBERED_FORKS = 10_000;

function originOf(note: Buffer): string | undefined {
  // parseNote checks UTF-8, control characters and the note layout before anything is read.
  const { text } = parseNote(note);
  const end = text.indexOf('\n');
  return end > 0 ? text.slice(0, end) : undefined;
}

/** The checkpoint text, the blank line and the log's signature lines that verified. */
function verifiedNote(note: Buffer, checkpoint: VerifiedCheckpoint): string {
  const trusted = new Set(checkpoint.signers.map((s) => `${s.name}+${s.keyId}`));
  const done = new Set<string>();
  let lines = '';
  for (const sig of parseNote(note).signatures) {
    const id = `${sig.name}+${sig.keyId}`;
    if (!trusted.has(id) || done.has(id)) continue;
    done.add(id);
    lines += `${SIGNATURE_PREFIX}${sig.name} ${encodeBase64(Buffer.concat([Buffer.from(sig.keyId, 'hex'), sig.signature]))}\n`;
  }
  return `${checkpoint.text}\n${lines}`;
}

function defaultNow(): number {
  return Math.floor(Date.now() / 1000);
}

export class Witness {
  readonly #store: WitnessStateStore;
  readonly #signers: readonly CosignatureSigner[];
  readonly #now: () => number;
  readonly #eventsRoots: EventsRootCache | undefined;
  readonly #recordedForks = new Set<string>();

  constructor(options: WitnessOptions) {
    if (options.signers.length === 0) throw new RangeError('a witness needs at least one key');
    // Fails at start-up, not at the first request, on a key that could not cosign.
    for (const s of options.signers) cosignatureVerifierOf(s);
    this.#store = options.store;
    this.#signers = [...options.signers];
    this.#now = options.now ?? defaultNow;
    const store = options.store;
    this.#eventsRoots = store.eventLines ? new EventsRootCache((source, from, to) => store.eventLines!(source, from, to)) : undefined;
  }

  /** The latest cosigned checkpoint of a source (note and cosignatures), or undefined. */
  latest(source: string): Promise<CosignedCheckpoint | undefined> {
    return this.#store.latestCosigned(source);
  }

  /** Decides an add-checkpoint request. Store errors propagate; nothing else throws. */
  async addCheckpoint(body: Uint8Array): Promise<AddCheckpointOutcome> {
    const parsed = parseAddCheckpointRequest(body);
    if (!parsed.ok) return { status: 400, reason: parsed.reason };
    const { oldSize, proof, note } = parsed.request;

    let origin: string | undefined;
    try {
      origin = originOf(note);
    } catch (e) {
      return { status: 400, reason: reasonOf(e) };
    }
    if (origin === undefined) return { status: 400, reason: 'the checkpoint has no origin line' };
    const log = await this.#store.logByOrigin(origin);
    if (log === undefined) return { status: 404, reason: 'unknown log origin' };
    const source = log.source;

    let checkpoint: VerifiedCheckpoint;
    try {
      checkpoint = verifyCheckpoint(note, log.verifierKeys, { origin: log.origin });
    } catch (e) {
      if (e instanceof ProofError && (e.code === 'UNKNOWN_KEY' || e.code === 'INVALID_SIGNATURE')) {
        return { status: 403, reason: 'no valid signature from a key trusted for this log', source };
      }
      if (e instanceof ProofError && e.code === 'INVALID_CHECKPOINT') return { status: 400, reason: reasonOf(e), source };
      throw e; // a stored key that does not parse is the server's fault, not the client's
    }
    if (oldSize > checkpoint.size) return { status: 400, reason: 'old size exceeds the checkpoint size', source };

    const state = await this.#store.latestCosigned(source);
    const knownSize = state?.size ?? 0;
    const knownRoot = state?.rootHash ?? emptyTreeRoot();
    const submittedNote = note.toString('utf8');
    const evidence = (kind: WitnessForkKind, expectedRoot: Buffer): WitnessForkEvidence => ({
      kind,
      size: checkpoint.size,
      expectedRoot,
      actualRoot: checkpoint.rootHash,
      submittedNote,
      cosignedNote: state?.note,
    });
    const conflictAtKnownSize = state !== undefined && checkpoint.size === knownSize && !checkpoint.rootHash.equals(knownRoot);

    if (oldSize !== knownSize) {
      const fork = conflictAtKnownSize ? await this.#fork(source, evidence('root-conflict', knownRoot)) : undefined;
      return { status: 409, reason: `old size ${oldSize} is not the size last cosigned`, knownSize, source, ...(fork ? { fork } : {}) };
    }
    if (checkpoint.size === knownSize) {
      if (proof.length !== 0) return { status: 422, reason: 'a checkpoint of the cosigned size needs an empty proof', source };
      if (conflictAtKnownSize) {
        const fork = await this.#fork(source, evidence('root-conflict', knownRoot));
        return { status: 409, reason: 'another root was cosigned at this size', knownSize, source, fork };
      }
    } else {
      try {
        verifyConsistency(oldSize, checkpoint.size, proof, knownRoot, checkpoint.rootHash);
      } catch (e) {
        if (!(e instanceof ProofError)) throw e;
        // A bad proof alone proves nothing against the log; the stored events may.
        const { fork } = await this.#checkEvents(source, checkpoint, evidence);
        return { status: 422, reason: `consistency proof does not verify: ${e.message}`, source, ...(fork ? { fork } : {}) };
      }
    }
    const { fork, range } = await this.#checkEvents(source, checkpoint, evidence);
    if (fork !== undefined) {
      return { status: 409, reason: 'the checkpoint root differs from the root of the events stored for this source', knownSize, source, fork };
    }

    const cosignedAt = this.#now();
    const text = verifiedNote(note, checkpoint);
    const cosignatures = this.#signers.map((s) => cosignCheckpoint(checkpoint.text, s, cosignedAt)).join('');
    const next: CosignedCheckpoint = { size: checkpoint.size, rootHash: checkpoint.rootHash, note: text + cosignatures, cosignedAt };
    const swapped = await this.#store.recordCosigned(source, state === undefined ? undefined : { size: knownSize, rootHash: knownRoot }, next);
    if (!swapped.ok) {
      return { status: 409, reason: 'the witness state changed while this request was checked', knownSize: swapped.current?.size ?? 0, source };
    }
    if (range !== undefined) this.#eventsRoots?.remember(source, range);
    return { status: 200, source, cosignatures, checkpoint: next };
  }

  async #checkEvents(
    source: string,
    checkpoint: VerifiedCheckpoint,
    evidence: (kind: WitnessForkKind, expectedRoot: Buffer) => WitnessForkEvidence,
  ): Promise<{ fork?: WitnessForkEvidence; range?: CompactRange }> {
    let root: Buffer | undefined;
    let range: CompactRange | undefined;
    if (this.#eventsRoots !== undefined) {
      const found = await this.#eventsRoots.root(source, checkpoint.size);
      root = found?.root;
      range = found?.range;
    } else if (this.#store.rootFromEvents !== undefined) {
      root = await this.#store.rootFromEvents(source, checkpoint.size);
    }
    if (root === undefined) return {};
    if (root.equals(checkpoint.rootHash)) return range === undefined ? {} : { range };
    return { fork: await this.#fork(source, evidence('events-mismatch', root)) };
  }

  async #fork(source: string, evidence: WitnessForkEvidence): Promise<WitnessForkEvidence> {
    // Anyone can replay a forked checkpoint the log signed; one row per process says it all.
    const id = `${source}\n${evidence.kind}\n${sha256(evidence.submittedNote).toString('hex')}`;
    if (!this.#recordedForks.has(id)) {
      await this.#store.recordFork(source, evidence);
      if (this.#recordedForks.size >= MAX_REMEMBERED_FORKS) this.#recordedForks.delete(this.#recordedForks.values().next().value!);
      this.#recordedForks.add(id);
    }
    return evidence;
  }
}

function reasonOf(e: unknown): string {
  if (isSealedLedgerError(e)) return e.message;
  throw e;
}

