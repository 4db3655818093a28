/**
 * Checkpoints held outside the ledger folder (spec §17.3): a signed note the operator, a
 * collector or a witness kept. The local ledger must extend it: the tree verify recomputes from
 * events.jsonl must have the note's root at the note's size, and a consistency proof served
 * from ledger.db's nodes (O(log n) reads, what a client would be given) must verify from it to
 * the recomputed root. A ledger shorter than the note was truncated or rolled back: the one
 * thing a local verify cannot see without such a checkpoint.
 */
import fs from 'node:fs';
import { InvalidInputError, SealedLedgerError } from '../errors.js';
import type { CompactRange } from '../merkle/compact-range.js';
import { consistencyProof } from '../merkle/proofs.js';
import { verifyCheckpoint } from '../merkle/signed-checkpoint.js';
import { verifyConsistency } from '../merkle/verify.js';
import { ProjectionReader } from '../store/projection-reader.js';
import type { ExternalCheckpoint, TrustStatement, VerifyOptions } from './verify-ledger.js';
import type { VerifyProblem } from './verify-line.js';

interface Parsed {
  size: number;
  root: Buffer;
  label: string;
  /** The problem code when the ledger does not extend it (default CHECKPOINT_INCONSISTENT). */
  code?: string;
  consistent?: boolean;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export class ExternalCheckpoints {
  readonly #list: Parsed[] = [];
  #next = 0;

  constructor(checkpoints: readonly ExternalCheckpoint[], defaultKeys: readonly string[] | undefined, private readonly sqlitePath: string) {
    checkpoints.forEach((c, i) => {
      const keys = c.verifierKeys ?? defaultKeys;
      if (!keys || keys.length === 0) {
        throw new InvalidInputError('INVALID_ARGUMENT', `external checkpoint ${i + 1}: no verifier key to check it with (give verifierKeys or trustedKeys)`);
      }
      // A note that does not verify is bad input, not a finding about the ledger: the caller
      // vouched for it, so the caller learns at once (typed: UNKNOWN_KEY, INVALID_SIGNATURE, …).
      const v = verifyCheckpoint(c.note, keys);
      this.#list.push({ size: v.size, root: Buffer.from(v.rootHash), label: `checkpoint of size ${v.size} held outside the folder` });
    });
    this.#list.sort((a, b) => a.size - b.size);
  }

  /** A checkpoint whose (size, root) the caller already verified (a cosigned witness record). */
  addVerified(size: number, root: Buffer, label: string, code: string): void {
    this.#list.push({ size, root, label, code });
    this.#list.sort((a, b) => a.size - b.size);
  }

  get results(): TrustStatement['externalCheckpoints'] {
    return this.#list.map((c) => ({ size: c.size, rootHash: hex(c.root), consistent: c.consistent === true }));
  }

  /** Called with the recomputed tree after each leaf (and once before the first). */
  at(frontier: CompactRange, problem: (p: VerifyProblem) => void): void {
    for (; this.#next < this.#list.length && this.#list[this.#next]!.size <= frontier.size; this.#next++) {
      const c = this.#list[this.#next]!;
      if (c.size !== frontier.size) continue; // passed over: a seq gap, already reported
      c.consistent = frontier.root().equals(c.root);
      if (!c.consistent) {
        problem({
          code: c.code ?? 'CHECKPOINT_INCONSISTENT',
          message: `the ${c.label} names root ${hex(c.root).slice(0, 16)}…, events.jsonl gives ${frontier.root().toString('hex').slice(0, 16)}… at that size: history was rewritten`,
          seq: c.size - 1,
        });
      }
    }
  }

  finish(frontier: CompactRange, problem: (p: VerifyProblem) => void): void {
    if (this.#list.length > 0 && this.#list[0]!.size === 0) this.#list[0]!.consistent = true;
    this.at(frontier, problem);
    for (const c of this.#list) {
      if (c.size > frontier.size) {
        c.consistent = false;
        problem({
          code: c.code ?? 'CHECKPOINT_INCONSISTENT',
          message: `the ${c.label} covers ${c.size} events, events.jsonl holds ${frontier.size}: the ledger was truncated or rolled back`,
          seq: frontier.size,
        });
      }
    }
    for (const c of this.#list) if (c.consistent && c.size > 0 && c.size < frontier.size) this.checkServedProof(c, frontier, problem);
  }

  /** The consistency proof a client would be served from ledger.db must verify too. */
  private checkServedProof(c: Parsed, frontier: CompactRange, problem: (p: VerifyProblem) => void): void {
    if (!fs.existsSync(this.sqlitePath)) return;
    let db: ProjectionReader | undefined;
    try {
      db = ProjectionReader.open(this.sqlitePath);
      const proof = consistencyProof(db.nodeReader(), c.size, frontier.size);
      verifyConsistency(c.size, frontier.size, proof, c.root, frontier.root());
    } catch (e) {
      if (!(e instanceof SealedLedgerError)) return; // unreadable ledger.db: parity reports it
      problem({ code: 'MERKLE_NODE_MISMATCH', message: `a consistency proof from the ${c.label} served from ledger.db's nodes does not verify (${e.code}): proofs given to clients would fail` });
    } finally {
      db?.close();
    }
  }
}

const LIMIT = 'a truncated tail with no checkpoint or witness past it cannot be detected locally: only a checkpoint or copy kept off the host can prove it';

export function trustStatement(options: VerifyOptions, external: TrustStatement['externalCheckpoints']): TrustStatement {
  if (options.trustedKeys) {
    return {
      keys: 'trusted',
      statement: 'signatures and checkpoints were checked against keys given out of band: an event or checkpoint signed by any other key fails' +
        (external.length > 0 ? '; the ledger was checked to extend checkpoints held outside the folder' : ''),
      externalCheckpoints: external,
      limits: LIMIT,
    };
  }
  return {
    keys: 'folder',
    statement: "signatures were checked against the folder's own keyring: integrity against accidents, not against whoever can write the folder (use --trusted-keys and --checkpoint)",
    externalCheckpoints: external,
    limits: LIMIT,
  };
}
