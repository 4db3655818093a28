/**
 * The C2SP tlog-witness add-checkpoint request body (spec §19.2):
 *
 *     old <size>\n
 *     <base64 hash>\n          (0 to 63 consistency proof lines)
 *     \n
 *     <signed checkpoint note>
 *
 * Parsing is strict: one spelling of each number and hash, every line ending in "\n". Anything
 * else is a 400; the note itself is parsed later, after the origin is looked up.
 */
import { decodeBase64Strict } from '../codec/strict-base64.js';

/** tlog-witness: "The client MUST NOT send more than 63 consistency proof lines." */
export const MAX_PROOF_LINES = 63;

export interface AddCheckpointRequest {
  readonly oldSize: number;
  readonly proof: readonly Buffer[];
  /** The signed checkpoint note, as received. */
  readonly note: Buffer;
}

export type ParseResult =
  | { readonly ok: true; readonly request: AddCheckpointRequest }
  | { readonly ok: false; readonly reason: string };

const OLD_LINE = /^old (0|[1-9][0-9]*)$/;
const NEWLINE = 0x0a;

function fail(reason: string): ParseResult {
  return { ok: false, reason };
}

export function parseAddCheckpointRequest(body: Uint8Array): ParseResult {
  if (!(body instanceof Uint8Array)) return fail('request body must be bytes');
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  // Header lines are ASCII; a byte-wise split cannot cut a UTF-8 sequence of the note.
  const nextLine = (): string | undefined => {
    const end = bytes.indexOf(NEWLINE, at);
    if (end < 0) return undefined;
    const line = bytes.toString('latin1', at, end);
    at = end + 1;
    return line;
  };
  const oldLine = nextLine();
  if (oldLine === undefined) return fail('the old size line must end with a newline');
  const old = OLD_LINE.exec(oldLine);
  if (old === null) return fail('the first line must be "old <size>" in decimal without leading zeros');
  const oldSize = Number(old[1]);
  if (!Number.isSafeInteger(oldSize)) return fail('old size is out of range');
  const proof: Buffer[] = [];
  for (;;) {
    const line = nextLine();
    if (line === undefined) return fail('no empty line between the proof and the checkpoint');
    if (line === '') break;
    if (proof.length === MAX_PROOF_LINES) return fail(`more than ${MAX_PROOF_LINES} consistency proof lines`);
    const hash = decodeBase64Strict(line);
    if (hash === undefined || hash.length !== 32) return fail(`proof line ${proof.length + 1} is not the base64 of a 32-byte hash`);
    proof.push(hash);
  }
  if (at === bytes.length) return fail('no checkpoint after the empty line');
  return { ok: true, request: { oldSize, proof, note: Buffer.from(bytes.subarray(at)) } };
}
