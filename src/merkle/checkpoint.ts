/**
 * C2SP tlog-checkpoint note text (c2sp.org/tlog-checkpoint, spec §12.1):
 *
 *     <origin>\n
 *     <tree size, decimal, no leading zeros>\n
 *     <base64 RFC 6962 root hash>\n
 *     <extension line>\n ... (optional, non-empty)
 *
 * Formatting and parsing are exact inverses: parse(format(b)) = b and format(parse(t)) = t.
 */
import { ProofError } from '../errors.js';
import { HASH_SIZE, emptyTreeRoot } from './root.js';
import { decodeBase64Strict, encodeBase64 } from '../codec/strict-base64.js';
import { MAX_TREE_SIZE } from './tree-math.js';

export interface CheckpointBody {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Buffer;
  readonly extensions?: readonly string[];
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
// Lines of a note: no controls (C2SP signed-note), and a line cannot hold a newline.
const CONTROL = /[\u0000-\u001f]/;
const LONE_SURROGATE = /\p{Cs}/u;

function invalid(reason: string, details: Record<string, unknown> = {}): ProofError {
  return new ProofError('INVALID_CHECKPOINT', `invalid checkpoint: ${reason}`, { details: { reason, ...details } });
}

function lineProblem(line: string): string | undefined {
  if (line.length === 0) return 'is empty';
  if (CONTROL.test(line)) return 'contains a control character';
  if (LONE_SURROGATE.test(line)) return 'is not valid UTF-8';
  return undefined;
}

/**
 * Checks the fields a checkpoint must satisfy: non-empty single-line origin and extensions, a
 * size that is a safe integer, a 32-byte root, and the empty-tree root when size is 0 (the
 * RFC 6962 root of the empty tree is fixed, so any other value is a false statement).
 */
function checkBody(body: CheckpointBody): void {
  if (typeof body.origin !== 'string') throw invalid('origin must be a string');
  const originProblem = lineProblem(body.origin);
  if (originProblem !== undefined) throw invalid(`origin ${originProblem}`);
  if (!Number.isSafeInteger(body.size) || body.size < 0 || body.size > MAX_TREE_SIZE) {
    throw invalid('size must be a non-negative safe integer', { size: String(body.size) });
  }
  if (!(body.rootHash instanceof Uint8Array) || body.rootHash.length !== HASH_SIZE) {
    throw invalid(`root hash must be ${HASH_SIZE} bytes`);
  }
  if (body.size === 0 && !emptyTreeRoot().equals(body.rootHash)) {
    throw invalid('a tree of size 0 has the empty-tree root', {
      expected: emptyTreeRoot().toString('hex'),
      actual: Buffer.from(body.rootHash).toString('hex'),
    });
  }
  for (const [i, ext] of (body.extensions ?? []).entries()) {
    const p = typeof ext === 'string' ? lineProblem(ext) : 'is not a string';
    if (p !== undefined) throw invalid(`extension line ${i} ${p}`);
  }
}

/** The checkpoint note text; every line ends with "\n". */
export function formatCheckpoint(body: CheckpointBody): string {
  checkBody(body);
  const lines = [body.origin, String(body.size), encodeBase64(body.rootHash), ...(body.extensions ?? [])];
  return lines.map((l) => `${l}\n`).join('');
}

/** Parses checkpoint note text strictly; throws INVALID_CHECKPOINT on any deviation. */
export function parseCheckpoint(text: string): CheckpointBody {
  if (typeof text !== 'string') throw invalid('text must be a string');
  if (!text.endsWith('\n')) throw invalid('text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw invalid('needs origin, size and root hash lines');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (!DECIMAL.test(sizeText)) throw invalid('size must be decimal digits without leading zeros');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw invalid('size exceeds the supported range', { size: sizeText });
  const rootHash = decodeBase64Strict(rootText);
  if (rootHash === undefined) throw invalid('root hash is not canonical base64');
  const body: CheckpointBody = extensions.length > 0 ? { origin, size, rootHash, extensions } : { origin, size, rootHash };
  checkBody(body);
  return body;
}
