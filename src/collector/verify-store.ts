/**
 * `collector verify` (spec §18.9): re-checks everything the collector holds from the stored
 * bytes alone, as `verify` checks a ledger: per source, seq contiguous from 0, each line
 * canonical and sealed, each `prev` the previous hash, each signature by a registered key valid
 * at that event (required when the source says so), the head row equal to the last event, and
 * the cosigned checkpoint signed by a registered checkpoint key over the root of the stored
 * events at its size. Forks recorded are reported: they are evidence against a host.
 *
 * The witness's own cosignature lines in that note are checked too when the witness's key is
 * given from outside (spec §18.9.1): the store is no more trusted than the folder of a ledger,
 * so a cosignature is only believed under a key the caller brings, never one read from the store.
 * The witness state must be the head of the witness's append-only, chained log of what it
 * cosigned (witness-log.ts), which catches the state row put back to an older cosigned note.
 */
import { SealedLedgerError } from '../errors.js';
import { GENESIS_PREV } from '../format/event.js';
import { parseEventLine } from '../format/event-line.js';
import { verifyEventSignature } from '../format/signature.js';
import { CompactRange } from '../merkle/compact-range.js';
import { cosignatureVerifierOf, parseCosignatureVerifierKey, verifyCosignatures, type CosignatureVerifier } from '../merkle/cosignature.js';
import { verifyCheckpoint } from '../merkle/signed-checkpoint.js';
import type { CollectorDatabase } from './database.js';
import { EventStore } from './event-store.js';
import { SourceRegistry } from './sources.js';
import { checkWitnessLog, sameState } from './witness-log.js';

export interface CollectorProblem {
  source: string;
  code: string;
  message: string;
  seq?: number;
}

export interface SourceVerdict {
  source: string;
  events: number;
  head: { seq: number; hash: string } | null;
  cosignedSize: number | null;
  /**
   * hex hash of the last record of the witness's log (spec §18.9.1), null without one. Kept
   * outside the database, a later verify shows whether the log was rewritten since.
   */
  witnessLogHead: string | null;
  forks: number;
}

export interface CollectorVerifyReport {
  ok: boolean;
  /** Whether the witness's cosignature lines were checked (a witness key was given). */
  cosignaturesChecked: boolean;
  sources: SourceVerdict[];
  problems: CollectorProblem[];
  /** Fork evidence recorded (rows in the forks table), by source. */
  forks: { source: string; kind: string; seq: number; reason: string; detectedAt: string }[];
}

const MAX_PROBLEMS_PER_SOURCE = 100;

export interface CollectorVerifyOptions {
  /** Only this source. */
  source?: string;
  /**
   * The witness's cosignature/v1 verifier key(s) (C2SP verifier key strings or parsed keys).
   * Given, every stored cosigned checkpoint must carry a valid cosignature by one of them whose
   * timestamp is the one recorded. Not given, cosignatures are not checked (`cosignaturesChecked`).
   */
  witnessKeys?: readonly (string | CosignatureVerifier)[];
  /**
   * Witness log heads recorded earlier, by source (spec §18.9.1), kept outside the database: each
   * must still be the hash of a record of that source's log, else the log was rewritten.
   */
  knownWitnessLogHeads?: Readonly<Record<string, string>>;
}

export async function verifyCollectorStore(handle: CollectorDatabase, o: CollectorVerifyOptions = {}): Promise<CollectorVerifyReport> {
  const registry = new SourceRegistry(handle);
  const store = new EventStore(handle);
  // A bad key is the caller's error (INVALID_KEY), thrown before anything is read.
  const witnessKeys = o.witnessKeys?.length ? o.witnessKeys.map((k) => (typeof k === 'string' ? parseCosignatureVerifierKey(k) : cosignatureVerifierOf(k))) : undefined;
  const names = o.source !== undefined ? [o.source] : (await handle.db.selectFrom('sources').select('name').orderBy('name').execute()).map((r) => r.name);
  const report: CollectorVerifyReport = { ok: true, cosignaturesChecked: witnessKeys !== undefined, sources: [], problems: [], forks: [] };
  for (const source of names) {
    const problems: CollectorProblem[] = [];
    const problem = (code: string, message: string, seq?: number) => {
      if (problems.length < MAX_PROBLEMS_PER_SOURCE) problems.push({ source, code, message, ...(seq === undefined ? {} : { seq }) });
    };
    const ctx = await registry.verificationContext(source);
    if (!ctx) {
      problem('UNKNOWN_SOURCE', `no source named ${source}`);
      report.problems.push(...problems);
      continue;
    }
    const ws = await handle.db.selectFrom('witness_state').selectAll().where('source', '=', source).executeTakeFirst();
    const range = CompactRange.empty();
    let rootAtCosigned: Buffer | undefined = ws?.size === 0 ? range.root() : undefined;
    let expected = 0;
    let prev = GENESIS_PREV;
    for await (const { seq, line, hash } of store.lines(source)) {
      if (seq !== expected) {
        problem('SEQ_GAP', `seq ${expected} is missing (next stored seq is ${seq})`, expected);
        expected = seq;
      }
      let ev;
      try {
        const rec = parseEventLine(line.toString('utf8'));
        ev = rec.event;
        if (ev.seq !== seq) problem('LEDGER_CORRUPT', `the row at seq ${seq} holds event seq ${ev.seq}`, seq);
        if (ev.prev !== prev) problem('CHAIN_BROKEN', `seq ${seq}: prev does not match the previous hash`, seq);
        if (hash !== ev.hash) problem('LEDGER_CORRUPT', `seq ${seq}: the hash column differs from the line's hash`, seq);
        if (ev.sig !== undefined || ctx.requireSignatures) verifyEventSignature(ev, ctx.keyring);
        range.append(rec.hash);
        prev = ev.hash;
      } catch (e) {
        if (!(e instanceof SealedLedgerError)) throw e;
        problem(e.code, `seq ${seq}: ${e.message}`, seq);
        prev = ev?.hash ?? prev;
        range.append(Buffer.alloc(32));
      }
      expected = seq + 1;
      if (ws && range.size === ws.size) rootAtCosigned = range.root();
    }
    const head = await store.head(source);
    const last = expected - 1;
    if ((head?.seq ?? -1) !== last || (head && head.hash !== prev)) {
      problem('LEDGER_CORRUPT', `the head row (${head ? `seq ${head.seq}` : 'empty'}) is not the last stored event (seq ${last})`);
    }
    if (ws) {
      try {
        const keys = (await handle.db.selectFrom('checkpoint_keys').select('verifier_key').where('source', '=', source).execute()).map((k) => k.verifier_key);
        const cp = verifyCheckpoint(ws.note, keys);
        if (cp.size !== ws.size || !Buffer.from(cp.rootHash).equals(Buffer.from(ws.root, 'hex'))) {
          problem('INVALID_CHECKPOINT', `the cosigned note says size ${cp.size}, the witness state ${ws.size}`);
        }
        if (rootAtCosigned !== undefined && !rootAtCosigned.equals(Buffer.from(ws.root, 'hex'))) {
          problem('ROOT_MISMATCH', `the cosigned root at size ${ws.size} is not the root of the stored events`);
        }
      } catch (e) {
        if (!(e instanceof SealedLedgerError)) throw e;
        problem(e.code, `cosigned checkpoint: ${e.message}`);
      }
      if (witnessKeys) checkCosignature(ws, witnessKeys, problem);
    }
    // The state must be the head of the witness's log (spec §18.9.1): a rollback of the state row
    // to an older note the witness really cosigned passes every signature check above.
    const log = await handle.db
      .selectFrom('witness_log')
      .select(['source', 'size', 'root', 'note', 'cosigned_at', 'prev', 'hash'])
      .where('source', '=', source)
      .orderBy('id')
      .execute();
    for (const p of checkWitnessLog(log, ws)) problem(p.code, p.message);
    if (witnessKeys) {
      for (const [i, r] of log.entries()) {
        if (ws && sameState(r, ws)) continue;
        checkCosignature(r, witnessKeys, (code, message) => problem(code, `witness log record ${i}: ${message}`));
      }
    }
    const logHead = log.length > 0 ? log[log.length - 1]!.hash : null;
    const known = o.knownWitnessLogHeads?.[source];
    if (known !== undefined && !log.some((r) => r.hash === known)) {
      problem('WITNESS_INCONSISTENT', `the witness log no longer holds the head ${known} recorded earlier: it was rewritten`);
    }
    const forks = await handle.db.selectFrom('forks').select(['kind', 'seq', 'reason', 'detected_at']).where('source', '=', source).orderBy('id').execute();
    for (const f of forks) report.forks.push({ source, kind: f.kind, seq: f.seq, reason: f.reason, detectedAt: f.detected_at });
    report.sources.push({ source, events: expected, head: head ?? null, cosignedSize: ws?.size ?? null, witnessLogHead: logHead, forks: forks.length });
    report.problems.push(...problems);
  }
  report.ok = report.problems.length === 0 && report.forks.length === 0;
  return report;
}


/**
 * The witness's cosignature of the stored note (spec §18.9.1): at least one line by a given key,
 * every line by a given key valid, and the timestamp the one the state row recorded.
 */
function checkCosignature(
  ws: { size: number; note: string; cosigned_at: number },
  witnessKeys: readonly (string | CosignatureVerifier)[],
  problem: (code: string, message: string) => void,
): void {
  let verified;
  try {
    verified = verifyCosignatures(ws.note, witnessKeys);
  } catch (e) {
    if (!(e instanceof SealedLedgerError)) throw e;
    problem(e.code, `cosigned checkpoint at size ${ws.size}: the witness's cosignature: ${e.message}`);
    return;
  }
  if (verified.length === 0) {
    problem('SIGNATURE_REQUIRED', `cosigned checkpoint at size ${ws.size}: no cosignature line by the witness key given`);
  } else if (!verified.some((v) => v.timestamp === ws.cosigned_at)) {
    problem('LEDGER_CORRUPT', `cosigned checkpoint at size ${ws.size}: the cosignature's time ${verified[0]!.timestamp} is not the recorded ${ws.cosigned_at}`);
  }
}
