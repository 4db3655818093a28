/**
 * The Merkle tree of events.jsonl as the shipper reads it (spec §20.10): every leaf re-hashed
 * from the line's bytes (seal, seq and chain checked), never taken from ledger.db, so a
 * checkpoint the sidecar signs is over data derived from events.jsonl alone (spec §12.6). Built
 * in slices so that a long file never blocks the shipping loop; memory is the compact range.
 * Consistency proofs are computed by re-reading the lines since the last witnessed size, so they
 * too cost flat memory however large the gap.
 */
import { LedgerStateError, SealedLedgerError } from '../errors.js';
import { GENESIS_PREV } from '../format/event.js';
import { parseEventLine } from '../format/event-line.js';
import { CompactRange } from '../merkle/compact-range.js';
import { nodeKey } from '../merkle/node-id.js';
import { consistencyProofPlan, planNodeIds } from '../merkle/proof-plan.js';
import { nodeReaderFromList, proofFromPlan } from '../merkle/proofs.js';
import type { TreeNode } from '../merkle/node-id.js';
import { NODE_FILE_IO } from '../store/file-io.js';
import { JsonlFile } from '../store/jsonl-file.js';

/** The tree of the first `range.size` lines, and where the next line starts. */
export interface TreeState {
  readonly range: CompactRange;
  readonly offset: number;
  /** Hash of the last event (the next one's `prev`). */
  readonly prev: string;
}

const EMPTY: TreeState = { range: CompactRange.empty(), offset: 0, prev: GENESIS_PREV };

function copy(s: TreeState): TreeState {
  return { range: s.range.clone(), offset: s.offset, prev: s.prev };
}

export class JsonlTree {
  private file: JsonlFile | undefined;
  private state: TreeState = copy(EMPTY);
  /** The size whose state is kept (the last witnessed size), and that state once reached. */
  private keepAt = 0;
  private kept: TreeState | undefined = copy(EMPTY);

  constructor(private readonly path: string) {}

  get size(): number {
    return this.state.range.size;
  }

  /** Where the next line starts. */
  get offset(): number {
    return this.state.offset;
  }

  root(): Buffer {
    return this.state.range.root();
  }

  /** The state at the size passed to restart(), once the tree got there. */
  get keptState(): TreeState | undefined {
    return this.kept;
  }

  /** Start over from the first line, keeping the state at size `keepAt` on the way. */
  restart(keepAt: number): void {
    this.state = copy(EMPTY);
    this.keepAt = keepAt;
    this.kept = keepAt === 0 ? copy(EMPTY) : undefined;
  }

  /** Keep the current state (a checkpoint of this size was witnessed). */
  keepCurrent(): void {
    this.keepAt = this.size;
    this.kept = copy(this.state);
  }

  /**
   * Hash at most `maxLines` more lines, never past tree size `to` nor byte `end` (the durable
   * end). Returns the number of lines added; fewer than asked means `to` or `end` was reached.
   */
  extend(to: number, end: number, maxLines: number): number {
    if (this.size >= to || this.state.offset >= end) return 0;
    const file = this.open();
    let added = 0;
    const s = this.state;
    let { offset, prev } = s;
    try {
      for (const line of file.lines(offset, undefined, end)) {
        const leaf = leafOf(line.text, line.badUtf8 === true, line.offset, s.range.size, prev);
        s.range.append(leaf.hash);
        prev = leaf.eventHash;
        offset = line.offset + line.length;
        added++;
        if (s.range.size === this.keepAt && this.kept === undefined) this.kept = { range: s.range.clone(), offset, prev };
        if (s.range.size >= to || added >= maxLines) break;
      }
    } finally {
      // A bad line stops the tree before it: range, offset and prev stay in step.
      this.state = { range: s.range, offset, prev };
    }
    return added;
  }

  /**
   * The RFC 6962 consistency proof from the kept state's size to the current size. The nodes
   * left of the kept size are its compact range; those right of it are re-hashed from the lines.
   */
  consistencyProof(): Buffer[] {
    const from = this.kept;
    if (!from) throw new Error('no kept tree state to prove from');
    const m = from.range.size;
    const n = this.size;
    const plan = consistencyProofPlan(m, n);
    if (plan.length === 0) return [];
    const wanted = new Set(planNodeIds(plan).map(nodeKey));
    const nodes: TreeNode[] = from.range.nodes().filter((x) => wanted.has(nodeKey(x)));
    const range = from.range.clone();
    let prev = from.prev;
    for (const line of this.open().lines(from.offset, undefined, this.state.offset)) {
      const index = range.size;
      const leaf = leafOf(line.text, line.badUtf8 === true, line.offset, index, prev);
      prev = leaf.eventHash;
      if (wanted.has(nodeKey({ level: 0, index }))) nodes.push({ level: 0, index, hash: leaf.hash });
      for (const c of range.append(leaf.hash)) if (wanted.has(nodeKey(c))) nodes.push(c);
      if (range.size === n) break;
    }
    if (range.size !== n || !range.root().equals(this.root())) {
      throw new LedgerStateError('LEDGER_CORRUPT', `events.jsonl changed under the shipper between sizes ${m} and ${n}; nothing sent to the witness`, { details: { from: m, to: n } });
    }
    return proofFromPlan(nodeReaderFromList(nodes), plan);
  }

  close(): void {
    this.file?.close();
    this.file = undefined;
  }

  private open(): JsonlFile {
    this.file ??= JsonlFile.open(this.path, NODE_FILE_IO, { readOnly: true });
    return this.file;
  }
}

function leafOf(text: string, badUtf8: boolean, offset: number, seq: number, prev: string): { hash: Buffer; eventHash: string } {
  const corrupt = (message: string, details: Record<string, unknown>) =>
    new LedgerStateError('LEDGER_CORRUPT', `${message}; no checkpoint is signed over it (run sealed-ledger verify)`, { details: { offset, ...details } });
  if (badUtf8) throw corrupt(`events.jsonl offset ${offset} is not valid UTF-8`, {});
  let rec;
  try {
    rec = parseEventLine(text, { offset });
  } catch (e) {
    if (!(e instanceof SealedLedgerError)) throw e;
    throw corrupt(`events.jsonl offset ${offset}: ${e.message}`, { code: e.code });
  }
  if (rec.event.seq !== seq) throw corrupt(`events.jsonl offset ${offset} holds seq ${rec.event.seq}, expected ${seq}`, { seq: rec.event.seq });
  if (rec.event.prev !== prev) throw corrupt(`events.jsonl seq ${seq} does not chain to seq ${seq - 1}`, { seq });
  return { hash: rec.hash, eventHash: rec.event.hash };
}
