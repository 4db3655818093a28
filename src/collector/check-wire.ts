/**
 * The check workers' answer for a slice of a batch (spec §18.3, ADR 0034), packed:
 * structured-cloning one object per line cost the event loop more than storing the line.
 */
import type { CheckedLine } from './batch-lines.js';

/**
 * `nums` holds per line [seq, start, end, id length, at length], start and end being offsets
 * into the slice; `text` the lines' id, at, prev and hash, concatenated (prev and hash are 64
 * characters each). `nums` is transferred.
 */
export interface PackedLines {
  nums: Float64Array;
  text: string;
}
export const PACKED_FIELDS = 5;
const HASH_CHARS = 64;

/** Packs `lines`, whose bytes are views into `slice`. */
export function packLines(lines: readonly CheckedLine[], slice: Buffer): PackedLines {
  const nums = new Float64Array(lines.length * PACKED_FIELDS);
  const text: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.prev.length !== HASH_CHARS || l.hash.length !== HASH_CHARS) throw new Error('packLines: prev and hash are 64 hex digits');
    const start = l.bytes.byteOffset - slice.byteOffset;
    const o = i * PACKED_FIELDS;
    nums[o] = l.seq;
    nums[o + 1] = start;
    nums[o + 2] = start + l.bytes.length;
    nums[o + 3] = l.id.length;
    nums[o + 4] = l.at.length;
    text.push(l.id, l.at, l.prev, l.hash);
  }
  return { nums, text: text.join('') };
}

/** The lines of a packed reply, their bytes as views into `body` where the slice began at `offset`. */
export function unpackLines(p: PackedLines, body: Buffer, offset: number, out: CheckedLine[]): void {
  const { nums, text } = p;
  let at = 0;
  for (let o = 0; o < nums.length; o += PACKED_FIELDS) {
    const id = text.slice(at, (at += nums[o + 3]!));
    const time = text.slice(at, (at += nums[o + 4]!));
    const prev = text.slice(at, (at += HASH_CHARS));
    const hash = text.slice(at, (at += HASH_CHARS));
    out.push({ seq: nums[o]!, id, at: time, prev, hash, bytes: body.subarray(offset + nums[o + 1]!, offset + nums[o + 2]!) });
  }
}

