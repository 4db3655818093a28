/**
 * What verify makes of witness.jsonl (spec §20.10). Every record names a checkpoint the ledger
 * must still extend: the tree recomputed from events.jsonl must have the record's root at its
 * size, and hold at least that many events (WITNESS_INCONSISTENT otherwise).
 *
 * The file is in the folder, so an attacker who rewrites history can rewrite or delete it too.
 * Only `witnessKeys` (cosignature verifier keys brought by the verifier) make a record evidence:
 * then a record whose cosignature does not verify is WITNESS_INVALID, and a folder without a
 * single verifying record is WITNESS_MISSING: a demanding verifier who expects a witnessed
 * ledger is not satisfied by its absence.
 */
import fs from 'node:fs';
import { InvalidInputError, SealedLedgerError } from '../errors.js';
import { verifyCosignatures } from '../merkle/cosignature.js';
import { parseCheckpoint } from '../merkle/checkpoint.js';
import { parseNote } from '../merkle/signed-note.js';
import type { ExternalCheckpoints } from './external-checkpoints.js';
import type { VerifyProblem } from './verify-line.js';
import { cosignedNote, readWitnessLog, witnessLogPath, type WitnessLogLine } from '../ledger/witness-log.js';
import { WITNESS_FILE } from '../store/layout.js';

export interface WitnessFindings {
  /** witness.jsonl exists. */
  file: boolean;
  /** Complete lines in it. */
  records: number;
  /** The witness of the largest witnessed checkpoint (a verified cosignature with witness keys). */
  witness: string | null;
  /** Its size: the ledger must hold at least this many events, with its root at that size. */
  size: number | null;
  /** Whether cosignatures were checked against witness keys given by the caller. */
  verified: boolean;
}

/**
 * Read witness.jsonl, report malformed or unverifiable records, and register every record that
 * counts with `checks` (run against the recomputed tree by verify).
 */
export function checkWitnessLog(
  dir: string,
  witnessKeys: readonly string[] | undefined,
  checks: ExternalCheckpoints,
  problem: (p: VerifyProblem) => void,
  /** Cosigned checkpoints obtained outside the folder (the collector's latest): witness.jsonl's deletion or rollback cannot hide them. */
  outside: readonly string[] = [],
): WitnessFindings {
  let lines: WitnessLogLine[];
  try {
    lines = readWitnessLog(dir);
  } catch (e) {
    // A link or other entry in its place is refused as for every ledger file (spec §7.1).
    if (e instanceof SealedLedgerError) throw e;
    const errno = (e as NodeJS.ErrnoException).code ?? String(e);
    problem({ code: 'WITNESS_INVALID', message: `${WITNESS_FILE} cannot be read: ${errno}` });
    lines = [];
  }
  const verified = witnessKeys !== undefined && witnessKeys.length > 0;
  /** The first of the given witness keys that cosigned `note`; undefined once the reason is reported. */
  const cosigner = (note: string, where: string): string | undefined => {
    let names: string[];
    try {
      names = verifyCosignatures(note, witnessKeys ?? []).map((c) => c.name);
    } catch (e) {
      if (!(e instanceof SealedLedgerError)) throw e;
      problem({ code: 'WITNESS_INVALID', message: `${where}: ${e.message}` });
      return undefined;
    }
    if (names.length === 0) problem({ code: 'WITNESS_INVALID', message: `${where}: no cosignature by the given witness key` });
    return names[0];
  };
  let best: { size: number; witness: string } | undefined;
  for (const l of lines) {
    const where = `${WITNESS_FILE} line ${l.lineNo}`;
    const r = l.record;
    if (!r) {
      problem({ code: 'WITNESS_INVALID', message: `${where} is not a witness record` });
      continue;
    }
    let size: number;
    let root: Buffer;
    try {
      const body = parseCheckpoint(parseNote(r.note).text);
      size = body.size;
      root = Buffer.from(body.rootHash);
    } catch (e) {
      if (!(e instanceof SealedLedgerError)) throw e;
      problem({ code: 'WITNESS_INVALID', message: `${where}: its note is not a checkpoint (${e.message})` });
      continue;
    }
    if (size !== r.size || root.toString('hex') !== r.root) {
      problem({ code: 'WITNESS_INVALID', message: `${where}: the size or root beside the note does not match the note: the record was edited` });
      continue;
    }
    let witness = r.witness;
    if (verified) {
      const by = cosigner(cosignedNote(r), where);
      if (by === undefined) continue;
      witness = by;
    }
    checks.addVerified(size, root, `checkpoint of size ${size} witnessed by ${witness} (${where})`, 'WITNESS_INCONSISTENT');
    if (!best || size >= best.size) best = { size, witness };
  }
  for (const [i, note] of outside.entries()) {
    const where = `witnessed checkpoint ${i + 1} given from outside the folder`;
    if (!verified) throw new InvalidInputError('INVALID_ARGUMENT', 'witnessed checkpoints need witness keys to be checked with');
    const by = cosigner(note, where);
    if (by === undefined) continue;
    let size: number;
    let root: Buffer;
    try {
      const body = parseCheckpoint(parseNote(note).text);
      size = body.size;
      root = Buffer.from(body.rootHash);
    } catch (e) {
      if (!(e instanceof SealedLedgerError)) throw e;
      problem({ code: 'WITNESS_INVALID', message: `${where}: ${e.message}` });
      continue;
    }
    checks.addVerified(size, root, `checkpoint of size ${size} witnessed by ${by} (${where})`, 'WITNESS_INCONSISTENT');
    if (!best || size >= best.size) best = { size, witness: by };
  }
  if (verified && !best) {
    problem({
      code: 'WITNESS_MISSING',
      message: lines.length === 0
        ? `no ${WITNESS_FILE} record: a witness key was given, but nothing in the folder shows the ledger was witnessed (deleted, or never shipped with a checkpoint key)`
        : `no ${WITNESS_FILE} record has a valid cosignature by the given witness key`,
    });
  }
  return { file: fs.existsSync(witnessLogPath(dir)), records: lines.length, witness: best?.witness ?? null, size: best?.size ?? null, verified };
}
