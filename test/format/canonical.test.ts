// spec §2: RFC 8785 canonicalization, strict I-JSON input.
import fc from 'fast-check';
import canonicalizeOracle from 'canonicalize';

const oracle = canonicalizeOracle as unknown as (v: unknown) => string | undefined;
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { canonicalize } from '../../src/format/canonical.js';
import { SealedLedgerError } from '../../src/errors.js';
import { codeOf } from '../helpers.js';

const vectors = JSON.parse(fs.readFileSync(new URL('../vectors/rfc8785/jcs.json', import.meta.url), 'utf8'));

describe('RFC 8785 published vectors (spec §2.1)', () => {
  for (const c of vectors.cases as { name: string; input: string; output: string }[]) {
    it(`${c.name}`, () => {
      expect(canonicalize(JSON.parse(c.input))).toBe(c.output);
    });
  }
  for (const [hex, expected] of vectors.numbers as [string, string][]) {
    it(`number ${hex} -> ${expected}`, () => {
      expect(canonicalize(Buffer.from(hex, 'hex').readDoubleBE(0))).toBe(expected);
    });
  }
  for (const [hex, name] of vectors.invalidNumbers as [string, string][]) {
    it(`rejects ${name}`, () => {
      expect(() => canonicalize(Buffer.from(hex, 'hex').readDoubleBE(0))).toThrow(/not a JSON number/);
    });
  }
});


describe('strict input (spec §2.3)', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const cases: [string, unknown][] = [
    ['undefined', undefined],
    ['undefined member', { a: undefined }],
    ['function', () => 1],
    ['symbol', Symbol('x')],
    ['bigint', 10n],
    ['NaN', NaN],
    ['Infinity', [Infinity]],
    ['lone high surrogate', '\ud800'],
    ['lone low surrogate in key', { '\udc00': 1 }],
    ['Date', new Date(0)],
    ['Map', new Map()],
    ['class instance', new (class X {})()],
    ['cycle', cyclic],
    ['sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
    ['symbol key', { [Symbol('k')]: 1 }],
  ];
  for (const [name, value] of cases) {
    it(`rejects ${name} with INVALID_JSON`, () => expect(codeOf(() => canonicalize(value))).toBe('INVALID_JSON'));
  }
  it('names the path of the offending value', () => {
    try {
      canonicalize({ a: [1, { b: NaN }] }, { path: 'payload' });
      expect.unreachable();
    } catch (e) {
      expect((e as SealedLedgerError).details.path).toBe('payload.a[1].b');
    }
  });
  it('rejects nesting deeper than the limit, and accepts up to it', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 129; i++) deep = [deep];
    expect(codeOf(() => canonicalize(deep))).toBe('INVALID_JSON');
    let ok: unknown = 1;
    for (let i = 0; i < 128; i++) ok = [ok];
    expect(codeOf(() => canonicalize(ok))).toBeUndefined();
  });
  it('accepts a null-prototype object and -0', () => {
    const o = Object.create(null);
    o.b = -0;
    o.a = 1;
    expect(canonicalize(o)).toBe('{"a":1,"b":0}');
  });
  it('aborts early past maxLength', () => {
    expect(codeOf(() => canonicalize('x'.repeat(100), { maxLength: 50 }))).toBe('INVALID_JSON');
  });
});

// fast-check prints the seed and path of any failure; replay with { seed, path }.
const json = fc.jsonValue({ maxDepth: 4 });

describe('properties (spec §2.2)', () => {
  it('agrees with an independent RFC 8785 implementation', () => {
    fc.assert(fc.property(json, (v) => canonicalize(v) === oracle(v)), { numRuns: 2000 });
  });
  it('is idempotent and round-trips through JSON.parse', () => {
    fc.assert(
      fc.property(json, (v) => {
        const c = canonicalize(v);
        return canonicalize(JSON.parse(c)) === c;
      }),
      { numRuns: 2000 },
    );
  });
  it('does not depend on key insertion order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), (o) => {
        const reversed = Object.fromEntries(Object.entries(o).reverse());
        return canonicalize(o) === canonicalize(reversed);
      }),
      { numRuns: 1000 },
    );
  });
  it('only ever throws SealedLedgerError on arbitrary values', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true }), (v) => {
        const c = codeOf(() => canonicalize(v));
        return c === undefined || c === 'INVALID_JSON';
      }),
      { numRuns: 2000 },
    );
  });
});

describe('maxLength at its boundary (what a mutation run showed untested)', () => {
  it('output of exactly maxLength code units passes; one less fails with reason "too long"', () => {
    const samples: unknown[] = ['abc', '', 0, -0, 1.5e-7, true, false, null, [], {}, [1, 'x', null], { b: [true, { a: -1 }], a: 'é' }];
    const check = (v: unknown) => {
      const text = canonicalize(v);
      expect(canonicalize(v, { maxLength: text.length })).toBe(text);
      expect(() => canonicalize(v, { maxLength: text.length - 1 })).toThrow(
        expect.objectContaining({ code: 'INVALID_JSON', details: expect.objectContaining({ reason: 'too long' }) }),
      );
    };
    samples.forEach(check);
    fc.assert(fc.property(fc.jsonValue(), check), { numRuns: 300 });
  });
});

describe('each rejection says why (details.reason; survivors of the mutation run)', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  let deep: unknown = 1;
  for (let i = 0; i < 3; i++) deep = [deep];
  const reasonOf = (value: unknown, options = {}) => {
    try {
      canonicalize(value, options);
    } catch (e) {
      return (e as SealedLedgerError).details.reason;
    }
    return 'accepted';
  };
  it.each([
    ['a lone surrogate', '\ud800', {}, 'string contains a lone surrogate'],
    ['a function', () => 1, {}, 'function is not a JSON value'],
    ['a symbol', Symbol('x'), {}, 'symbol is not a JSON value'],
    ['a cycle', cyclic, {}, 'cycle'],
    ['too deep', deep, { maxDepth: 2 }, 'nesting deeper than 2'],
    ['a Date', new Date(0), {}, 'Date object is not plain JSON'],
    ['a class instance', new (class Thing {})(), {}, 'Thing object is not plain JSON'],
    ['a null-prototype object with a prototype chain of its own', Object.create(Object.create(null)), {}, 'exotic object is not plain JSON'],
    ['a sparse array', [1, , 3], {}, 'sparse array hole'], // eslint-disable-line no-sparse-arrays
    ['a symbol key', { [Symbol('k')]: 1 }, {}, 'symbol-keyed property'],
  ] as const)('%s', (_what, value, options, reason) => {
    expect(reasonOf(value, options)).toBe(reason);
  });
});
