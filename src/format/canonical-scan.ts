/**
 * A one-pass test that a JSON text is already in RFC 8785 form (spec §2, §3.4), without building
 * anything: no whitespace, members in strictly increasing UTF-16 key order (so no duplicates),
 * strings escaped exactly as JSON.stringify escapes them, numbers exactly as ES Number::toString
 * writes them, nesting within the canonicalizer's depth limit. It only ever says "certainly
 * canonical": a text it refuses goes through the canonicalizer, which decides and explains
 * (event-line.ts). A differential property test holds the two together.
 */
import { DEFAULT_MAX_DEPTH } from './canonical.js';

/** One member of the outermost object: where its key and value begin and where the value ends. */
export interface TopMember {
  key: string;
  keyStart: number;
  valueStart: number;
  /** Index just past the value. */
  valueEnd: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;

class NotCanonical extends Error {}
const NOT = new NotCanonical();

/**
 * The members of `text`'s outermost object when `text` is one canonical JSON object whose
 * containers nest at most `maxDepth` levels below its members (the payload's limit), else
 * undefined.
 */
export function canonicalTopMembers(text: string, maxDepth = DEFAULT_MAX_DEPTH): TopMember[] | undefined {
  if (text.charCodeAt(0) !== 0x7b || !text.isWellFormed()) return undefined;
  const scan = new Scan(text, maxDepth + 1);
  try {
    const members: TopMember[] = [];
    const end = scan.object(0, 0, members);
    return end === text.length ? members : undefined;
  } catch (e) {
    if (e === NOT) return undefined;
    throw e;
  }
}

/** Sign of the UTF-16 comparison of s[a0, a1) and s[b0, b1), as JavaScript's < orders strings. */
function compareRanges(s: string, a0: number, a1: number, b0: number, b1: number): number {
  const n = Math.min(a1 - a0, b1 - b0);
  for (let k = 0; k < n; k++) {
    const d = s.charCodeAt(a0 + k) - s.charCodeAt(b0 + k);
    if (d !== 0) return d;
  }
  return a1 - a0 - (b1 - b0);
}

class Scan {
  constructor(private readonly s: string, private readonly maxDepth: number) {}

  value(i: number, depth: number): number {
    const c = this.s.charCodeAt(i);
    if (c === QUOTE) return this.string(i);
    if (c === 0x7b) return this.object(i, depth + 1);
    if (c === 0x5b) return this.array(i, depth + 1);
    if (c === 0x74) return this.literal(i, 'true');
    if (c === 0x66) return this.literal(i, 'false');
    if (c === 0x6e) return this.literal(i, 'null');
    return this.number(i);
  }

  /** `i` at "{"; `members` collects the outermost object's members. */
  object(i: number, depth: number, members?: TopMember[]): number {
    if (depth >= this.maxDepth) throw NOT;
    const s = this.s;
    let j = i + 1;
    if (s.charCodeAt(j) === 0x7d) return j + 1;
    // The previous key, as a range of the text while no key so far had an escape, else decoded.
    let prevStart = -1;
    let prevEnd = -1;
    let prevKey: string | undefined;
    for (;;) {
      if (s.charCodeAt(j) !== QUOTE) throw NOT;
      const keyEnd = this.string(j);
      const escaped = this.escaped;
      // String comparison is by UTF-16 code units: RFC 8785 §3.2.3's order; equal is a duplicate.
      // Unescaped keys are compared where they stand: a nested object's keys allocate nothing.
      if (!escaped && prevKey === undefined) {
        if (prevStart >= 0 && compareRanges(s, prevStart, prevEnd, j + 1, keyEnd - 1) >= 0) throw NOT;
        prevStart = j + 1;
        prevEnd = keyEnd - 1;
      } else {
        const key = escaped ? (JSON.parse(s.slice(j, keyEnd)) as string) : s.slice(j + 1, keyEnd - 1);
        const before = prevKey ?? (prevStart >= 0 ? s.slice(prevStart, prevEnd) : undefined);
        if (before !== undefined && !(before < key)) throw NOT;
        prevKey = key;
      }
      if (s.charCodeAt(keyEnd) !== COLON) throw NOT;
      const end = this.value(keyEnd + 1, depth);
      if (members) {
        const key = prevKey ?? s.slice(j + 1, keyEnd - 1);
        members.push({ key, keyStart: j, valueStart: keyEnd + 1, valueEnd: end });
      }
      const c = s.charCodeAt(end);
      if (c === 0x7d) return end + 1;
      if (c !== COMMA) throw NOT;
      j = end + 1;
    }
  }

  array(i: number, depth: number): number {
    if (depth >= this.maxDepth) throw NOT;
    const s = this.s;
    let j = i + 1;
    if (s.charCodeAt(j) === 0x5d) return j + 1;
    for (;;) {
      const end = this.value(j, depth);
      const c = s.charCodeAt(end);
      if (c === 0x5d) return end + 1;
      if (c !== COMMA) throw NOT;
      j = end + 1;
    }
  }

  /** Whether the last string() had an escape. */
  escaped = false;

  /** `i` at the opening quote; returns the index past the closing one. */
  string(i: number): number {
    const s = this.s;
    this.escaped = false;
    for (let j = i + 1; j < s.length; j++) {
      const c = s.charCodeAt(j);
      if (c === QUOTE) return j + 1;
      if (c < 0x20) throw NOT;
      if (c !== BACKSLASH) continue;
      this.escaped = true;
      const e = s.charCodeAt(++j);
      // JSON.stringify's escapes: \" \\ \b \t \n \f \r, and \u00xx (lowercase) for the other controls.
      if (e === QUOTE || e === BACKSLASH || e === 0x62 || e === 0x74 || e === 0x6e || e === 0x66 || e === 0x72) continue;
      if (e !== 0x75 || s.charCodeAt(j + 1) !== 0x30 || s.charCodeAt(j + 2) !== 0x30) throw NOT;
      const hi = s.charCodeAt(j + 3);
      const lo = s.charCodeAt(j + 4);
      const low = lo >= 0x30 && lo <= 0x39 ? lo - 0x30 : lo >= 0x61 && lo <= 0x66 ? lo - 0x61 + 10 : -1;
      if ((hi !== 0x30 && hi !== 0x31) || low < 0) throw NOT;
      const code = (hi - 0x30) * 16 + low;
      if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) throw NOT;
      j += 4;
    }
    throw NOT;
  }

  literal(i: number, word: string): number {
    if (!this.s.startsWith(word, i)) throw NOT;
    return i + word.length;
  }

  number(i: number): number {
    const s = this.s;
    let j = i;
    for (; j < s.length; j++) {
      const c = s.charCodeAt(j);
      // - + . 0-9 e E
      if (!(c === 0x2d || c === 0x2b || c === 0x2e || (c >= 0x30 && c <= 0x39) || c === 0x65 || c === 0x45)) break;
    }
    if (j === i) throw NOT;
    // An integer of at most 15 digits without a leading zero is its own Number::toString: every
    // such value is exact and below 1e21. Anything else is checked by converting.
    const neg = s.charCodeAt(i) === 0x2d ? 1 : 0;
    const digits = j - i - neg;
    if (digits >= 1 && digits <= 15) {
      const first = s.charCodeAt(i + neg);
      let plain = first >= 0x31 || (first === 0x30 && digits === 1 && neg === 0);
      for (let k = i + neg; plain && k < j; k++) {
        const c = s.charCodeAt(k);
        plain = c >= 0x30 && c <= 0x39;
      }
      if (plain) return j;
    }
    const token = s.slice(i, j);
    // Number::toString's output is a JSON number, and the only canonical spelling of its value.
    if (String(Number(token)) !== token) throw NOT;
    return j;
  }
}
