/**
 * RFC 8785 JSON Canonicalization Scheme (spec §2), fused with the strict "is this real JSON"
 * check so that an event is validated and encoded in one walk. ADR 0002 says why this is ours and
 * not the `canonicalize` package (which stays in the tests as an independent oracle).
 */
import { InvalidInputError } from '../errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface CanonicalizeOptions {
  /** Abort once the output would exceed this many UTF-16 code units (a lower bound on bytes). */
  maxLength?: number;
  /** Maximum nesting of arrays/objects (spec §2.3). */
  maxDepth?: number;
  /** Path prefix used in error details, e.g. "payload". */
  path?: string;
}

export const DEFAULT_MAX_DEPTH = 128;
/** `details.reason` of the error thrown when `maxLength` is exceeded. */
export const TOO_LONG = 'too long';

/**
 * Canonical JSON text of `value`. Throws InvalidInputError(INVALID_JSON) naming the path for
 * anything that is not I-JSON (RFC 7493): undefined, functions, symbols, BigInt, NaN/Infinity,
 * lone surrogates, non-plain objects, cycles, too deep, too long.
 */
export function canonicalize(value: unknown, options: CanonicalizeOptions = {}): string {
  const state: WalkState = {
    maxLength: options.maxLength ?? Number.POSITIVE_INFINITY,
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    length: 0,
    ancestors: new Set(),
  };
  return encode(value, options.path ?? '$', 0, state);
}

interface WalkState {
  maxLength: number;
  maxDepth: number;
  length: number;
  ancestors: Set<object>;
}

function fail(path: string, reason: string): never {
  throw new InvalidInputError('INVALID_JSON', `${path}: ${reason}`, { details: { path, reason } });
}

function grow(state: WalkState, n: number, path: string): void {
  state.length += n;
  if (state.length > state.maxLength) fail(path, TOO_LONG);
}

export function encodeString(s: string, path = '$'): string {
  if (!s.isWellFormed()) fail(path, 'string contains a lone surrogate');
  // ES2019+ JSON.stringify escapes exactly as RFC 8785 §3.2.2.2 requires.
  return JSON.stringify(s);
}

function encode(value: unknown, path: string, depth: number, state: WalkState): string {
  switch (typeof value) {
    case 'string': {
      const out = encodeString(value, path);
      grow(state, out.length, path);
      return out;
    }
    case 'number': {
      if (!Number.isFinite(value)) fail(path, `${String(value)} is not a JSON number`);
      // ES Number::toString is the RFC 8785 §3.2.2.3 serialization; -0 becomes "0".
      const out = Object.is(value, -0) ? '0' : String(value);
      grow(state, out.length, path);
      return out;
    }
    case 'boolean': {
      const out = value ? 'true' : 'false';
      grow(state, out.length, path);
      return out;
    }
    case 'object':
      if (value === null) {
        grow(state, 4, path);
        return 'null';
      }
      return encodeContainer(value, path, depth, state);
    default:
      return fail(path, `${typeof value} is not a JSON value`);
  }
}

function encodeContainer(value: object, path: string, depth: number, state: WalkState): string {
  if (depth >= state.maxDepth) fail(path, `nesting deeper than ${state.maxDepth}`);
  if (state.ancestors.has(value)) fail(path, 'cycle');
  state.ancestors.add(value);
  try {
    if (Array.isArray(value)) return encodeArray(value, path, depth, state);
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      fail(path, `${proto?.constructor?.name ?? 'exotic'} object is not plain JSON`);
    }
    return encodeObject(value as Record<string, unknown>, path, depth, state);
  } finally {
    state.ancestors.delete(value);
  }
}

function encodeArray(value: unknown[], path: string, depth: number, state: WalkState): string {
  grow(state, 2, path);
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    if (!(i in value)) fail(`${path}[${i}]`, 'sparse array hole');
    if (i > 0) {
      out += ',';
      grow(state, 1, path);
    }
    out += encode(value[i], `${path}[${i}]`, depth + 1, state);
  }
  return out + ']';
}

function encodeObject(value: Record<string, unknown>, path: string, depth: number, state: WalkState): string {
  if (Object.getOwnPropertySymbols(value).length > 0) fail(path, 'symbol-keyed property');
  // Default sort compares UTF-16 code units, which is exactly RFC 8785 §3.2.3.
  const keys = Object.keys(value).sort();
  grow(state, 2, path);
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const childPath = `${path}.${key}`;
    const v = value[key];
    if (i > 0) {
      out += ',';
      grow(state, 1, path);
    }
    const k = encodeString(key, childPath);
    grow(state, k.length + 1, path);
    out += k + ':' + encode(v, childPath, depth + 1, state);
  }
  return out + '}';
}
