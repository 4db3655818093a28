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
  const walk = new Walk(options);
  return walk.encode(value, 0);
}

export function encodeString(s: string, path: string): string {
  if (!s.isWellFormed()) throw invalidJson(path, 'string contains a lone surrogate');
  // ES2019+ JSON.stringify escapes exactly as RFC 8785 §3.2.2.2 requires.
  return JSON.stringify(s);
}

function invalidJson(path: string, reason: string): InvalidInputError {
  return new InvalidInputError('INVALID_JSON', `${path}: ${reason}`, { details: { path, reason } });
}

/**
 * One canonicalization. The path of the current value is kept as a stack of keys and indices and
 * turned into text only when something fails, so valid input pays nothing for good messages.
 */
class Walk {
  private readonly maxLength: number;
  private readonly maxDepth: number;
  private readonly root: string;
  private length = 0;
  private readonly keys: (string | number)[] = [];
  private readonly containers: object[] = [];

  constructor(options: CanonicalizeOptions) {
    this.maxLength = options.maxLength ?? Number.POSITIVE_INFINITY;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.root = options.path ?? '$';
  }

  private path(): string {
    let p = this.root;
    for (const k of this.keys) p += typeof k === 'number' ? `[${k}]` : `.${k}`;
    return p;
  }

  private fail(reason: string): never {
    throw invalidJson(this.path(), reason);
  }

  private grow(n: number): void {
    this.length += n;
    if (this.length > this.maxLength) this.fail(TOO_LONG);
  }

  private string(s: string): string {
    if (!s.isWellFormed()) this.fail('string contains a lone surrogate');
    const out = JSON.stringify(s);
    this.grow(out.length);
    return out;
  }

  encode(value: unknown, depth: number): string {
    switch (typeof value) {
      case 'string':
        return this.string(value);
      case 'number': {
        if (!Number.isFinite(value)) this.fail(`${String(value)} is not a JSON number`);
        // ES Number::toString is the RFC 8785 §3.2.2.3 serialization; -0 becomes "0".
        const out = value === 0 ? '0' : String(value);
        this.grow(out.length);
        return out;
      }
      case 'boolean':
        this.grow(value ? 4 : 5);
        return value ? 'true' : 'false';
      case 'object':
        if (value === null) {
          this.grow(4);
          return 'null';
        }
        return this.container(value, depth);
      default:
        return this.fail(`${typeof value} is not a JSON value`);
    }
  }

  private container(value: object, depth: number): string {
    if (depth >= this.maxDepth) {
      // A cycle always ends up here; tell it apart from honest depth only on this cold path.
      this.fail(this.containers.includes(value) ? 'cycle' : `nesting deeper than ${this.maxDepth}`);
    }
    this.containers.push(value);
    let out: string;
    if (Array.isArray(value)) {
      out = this.array(value, depth);
    } else {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        this.fail(`${(proto as { constructor?: { name?: string } })?.constructor?.name ?? 'exotic'} object is not plain JSON`);
      }
      out = this.object(value as Record<string, unknown>, depth);
    }
    this.containers.pop();
    return out;
  }

  private array(value: unknown[], depth: number): string {
    this.grow(2 + Math.max(0, value.length - 1));
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      this.keys.push(i);
      if (!(i in value)) this.fail('sparse array hole');
      if (i > 0) out += ',';
      out += this.encode(value[i], depth + 1);
      this.keys.pop();
    }
    return out + ']';
  }

  private object(value: Record<string, unknown>, depth: number): string {
    if (Object.getOwnPropertySymbols(value).length > 0) this.fail('symbol-keyed property');
    // Default sort compares UTF-16 code units, which is exactly RFC 8785 §3.2.3.
    const keys = Object.keys(value).sort();
    this.grow(2 + Math.max(0, keys.length - 1) + keys.length);
    let out = '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      this.keys.push(key);
      if (i > 0) out += ',';
      out += this.string(key) + ':' + this.encode(value[key], depth + 1);
      this.keys.pop();
    }
    return out + '}';
  }
}
