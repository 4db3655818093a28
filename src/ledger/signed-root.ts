/**
 * The tree a checkpoint signs, derived from events.jsonl's bytes (spec §12.6): nothing read from
 * ledger.db goes into a signed root. The derivation starts from the compact range stored beside
 * the last checkpoint this signer signed (checkpoints.jsonl), accepted only when it hashes to that
 * note's signed root, and extends it with the leaf hashes of the lines after it, re-hashed from
 * their bytes: O(events since that checkpoint) + O(log n). Without such an anchor it re-hashes
 * events.jsonl from the start, once.
 */
import { LedgerStateError, ProofError, SealedLedgerError } from '../errors.js';
import { GENESIS_PREV } from '../format/event.js';
import { parseEventLine } from '../format/event-line.js';
import { parseCheckpoint } from '../merkle/checkpoint.js';
import { CompactRange } from '../merkle/compact-range.js';
import { parseNote } from '../merkle/signed-note.js';
import { verifyCheckpoint } from '../merkle/signed-checkpoint.js';
import type { JsonlFile } from '../store/jsonl-file.js';
import type { CheckpointRecord } from './checkpoint-log.js';

/** A checkpoint issued before, as (size, root hex), from checkpoints.jsonl or the table. */
export interface IssuedCheckpoint {
  size: number;
  root: string;
  source: string;
}

export interface DerivedTree {
  range: CompactRange;
  /** Byte offset just past the line of the last leaf. */
  offset: number;
  /** Size of the signed checkpoint the derivation started from (0: from the first line). */
  anchorSize: number;
  /** Lines re-hashed. */
  rehashed: number;
}

export interface DeriveInput {
  jsonl: JsonlFile;
  /** Leaves to derive: the tree size about to be signed. */
  size: number;
  /** End of the last leaf's line in events.jsonl (the head's offset). */
  end: number;
  origin: string;
  /** Verifier keys whose notes may anchor the derivation: the signer's own key. */
  anchorKeys: readonly string[];
  /** checkpoints.jsonl records, newest first (read lazily from the end of the file). */
  recordsNewestFirst: Iterable<CheckpointRecord>;
  /** Other checkpoints issued before (the checkpoints table) of the given size or larger. */
  issuedAbove: (size: number) => readonly IssuedCheckpoint[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * The first record, newest first, that a trusted key signed and that carries a stored range; the
 * records passed over on the way are checkpoints issued after it, which the new one must extend.
 */
function findAnchor(input: DeriveInput, passed: IssuedCheckpoint[]): { size: number; range: CompactRange; offset: number } | undefined {
  for (const r of input.recordsNewestFirst) {
    passed.push({ size: r.size, root: r.root, source: 'checkpoints.jsonl' });
    const body = noteBody(r.note);
    if (body && body.root !== r.root) passed.push({ size: body.size, root: body.root, source: 'checkpoints.jsonl, its note' });
    if (r.size > input.size || r.range === undefined || r.offset === undefined) continue;
    let signed;
    try {
      signed = verifyCheckpoint(r.note, input.anchorKeys, { origin: input.origin });
    } catch (e) {
      if (!(e instanceof SealedLedgerError)) throw e;
      continue; // not a note this signer made: it cannot vouch for a range
    }
    let range: CompactRange | undefined;
    try {
      range = CompactRange.fromHashes(r.size, r.range.map((h) => Buffer.from(h, 'hex')));
    } catch (e) {
      if (!(e instanceof SealedLedgerError)) throw e;
    }
    if (signed.size !== r.size || range === undefined || !range.root().equals(signed.rootHash)) {
      throw new LedgerStateError(
        'LEDGER_CORRUPT',
        `checkpoints.jsonl: the compact range stored beside the checkpoint of size ${r.size} does not hash to its signed root; ` +
          'it was edited, so nothing is signed (restore checkpoints.jsonl from a backup, or remove the record\'s "range" and "offset" to re-derive the tree from events.jsonl)',
        { details: { size: r.size } },
      );
    }
    return { size: r.size, range, offset: r.offset };
  }
  return undefined;
}

function noteBody(note: string): { size: number; root: string } | undefined {
  try {
    const body = parseCheckpoint(parseNote(note).text);
    return { size: body.size, root: hex(body.rootHash) };
  } catch (e) {
    if (e instanceof SealedLedgerError) return undefined;
    throw e;
  }
}

/** Derive the tree of the first `size` events from events.jsonl (spec §12.6). */
export function deriveTreeFromJsonl(input: DeriveInput): DerivedTree {
  const passed: IssuedCheckpoint[] = [];
  const anchor = findAnchor(input, passed);
  const range = anchor?.range.clone() ?? CompactRange.empty();
  const from = anchor?.offset ?? 0;
  const checks = [...passed, ...input.issuedAbove(range.size)].filter((c) => c.size >= range.size).sort((a, b) => a.size - b.size);
  const largest = checks.at(-1);
  if (largest && largest.size > input.size) {
    throw new ProofError('CHECKPOINT_INCONSISTENT', `a checkpoint of size ${largest.size} was issued (${largest.source}), but the tree has only ${input.size} leaves; nothing signed`, {
      details: { issuedSize: largest.size, treeSize: input.size },
    });
  }
  let next = 0;
  const checkIssued = () => {
    for (; next < checks.length && checks[next]!.size === range.size; next++) {
      const c = checks[next]!;
      const root = hex(range.root());
      if (c.root !== root) {
        throw new ProofError('CHECKPOINT_INCONSISTENT', `events.jsonl no longer extends the checkpoint of size ${c.size} (${c.source}); nothing signed`, {
          expected: c.root,
          actual: root,
          details: { size: c.size },
        });
      }
    }
  };
  const corrupt = (message: string, details: Record<string, unknown>) =>
    new LedgerStateError('LEDGER_CORRUPT', `${message}; nothing signed (run sealed-ledger verify)`, { details });
  let prev = range.size === 0 ? GENESIS_PREV : undefined;
  let offset = from;
  let rehashed = 0;
  checkIssued();
  if (range.size < input.size) {
    for (const line of input.jsonl.lines(from, undefined, input.end)) {
      if (line.badUtf8) throw corrupt(`events.jsonl offset ${line.offset} is not valid UTF-8`, { offset: line.offset });
      let rec;
      try {
        rec = parseEventLine(line.text, { offset: line.offset });
      } catch (e) {
        if (!(e instanceof SealedLedgerError)) throw e;
        throw corrupt(`events.jsonl offset ${line.offset}: ${e.message}`, { offset: line.offset, code: e.code });
      }
      const ev = rec.event;
      if (ev.seq !== range.size) throw corrupt(`events.jsonl offset ${line.offset} holds seq ${ev.seq}, expected ${range.size}`, { offset: line.offset, seq: ev.seq });
      if (prev !== undefined && ev.prev !== prev) throw corrupt(`events.jsonl seq ${ev.seq} does not chain to seq ${ev.seq - 1}`, { seq: ev.seq });
      prev = ev.hash;
      range.append(rec.hash);
      rehashed++;
      offset = line.offset + line.length;
      checkIssued();
      if (range.size === input.size) break;
    }
  }
  if (range.size !== input.size || offset !== input.end) {
    throw corrupt(`events.jsonl does not hold the ${input.size} events the ledger's head names (found ${range.size} ending at byte ${offset}, head ends at ${input.end})`, {
      treeSize: input.size,
      found: range.size,
    });
  }
  return { range, offset, anchorSize: anchor?.size ?? 0, rehashed };
}
