/**
 * Every property can fail: each case breaks the implementation on purpose (through the FileIO
 * seam, the writer child, the verifier or a parser) and requires the property it targets to
 * catch it. A property that passes here is one that cannot see.
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { killProperty } from '../../fuzz/lib/kill-harness.mjs';
import { PropertyViolation } from '../../fuzz/lib/oracle.mjs';
import { typedOrValue } from '../../fuzz/lib/parsers.mjs';
import { simulatedCrashProperty } from '../../fuzz/lib/sim-crash.mjs';
import { buildPristine, probeByteFlip, tamperRoot } from '../../fuzz/lib/tamper.mjs';
import { assertDistBuilt } from './dist-check.js';
import { srcLibrary } from './src-library.js';

/** The violation a run produced, or a note that it found none. */
function caught<T>(details: fc.RunDetails<T>): string {
  if (!details.failed) return `no violation in ${details.numRuns} runs`;
  const e = details.errorInstance;
  return e instanceof PropertyViolation ? e.property : `not a property violation: ${String(e)}`;
}

const SIM: [string, string][] = [
  ['sync-noop', 'sqlite-within-durable-jsonl'],
  ['sync-noop', 'sqlite-within-jsonl'],
  ['sync-noop', 'acked-present'],
  ['drop-jsonl-write', 'sqlite-within-jsonl'],
  ['corrupt-first-line', 'stores-equal'],
  ['corrupt-first-line', 'verify-ok'],
  ['enospc', 'no-unexpected-error'],
  ['stale-size', 'stores-equal'],
  ['stale-size-once', 'reconcile-idempotent'],
  ['truncate-noop', 'torn-moved-aside'],
  ['truncate-short', 'reopen-succeeds'],
  ['drop-torn-write', 'torn-moved-aside'],
  ['drop-quarantine-write', 'quarantine-kept'],
];

describe('mutants: simulated crashes', () => {
  it.each(SIM)('mutant %s is caught by %s', async (mutant, property) => {
    const details = await fc.check(simulatedCrashProperty(srcLibrary, { mutant, only: [property] }), { numRuns: 400, seed: 5, endOnFailure: true });
    expect(caught(details)).toBe(property);
  }, 120_000);
});

describe('mutants: real kills', () => {
  it.each([
    ['early-ack', 'acked-present'], // the child reports events before they are durable
    ['sqlite-first', 'sqlite-within-jsonl'], // the child puts a row into ledger.db first
  ] as const)('writer mutant %s is caught by %s', async (mutant, property) => {
    assertDistBuilt();
    const details = await fc.check(killProperty(srcLibrary, { mutant, only: [property], keepOnFailure: false }), { numRuns: 20, seed: 3, endOnFailure: true });
    expect(caught(details)).toBe(property);
  }, 120_000);
});

describe('mutants: tamper probes and parsers', () => {
  const root = tamperRoot();
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('a verifier that sees nothing fails the byte-flip probe', async () => {
    const p = await buildPristine(srcLibrary, root, 3);
    const blind = { ...srcLibrary, verifyLedger: async (...args: unknown[]) => ({ ...(await srcLibrary.verifyLedger(...args)), ok: true, problems: [] }) };
    await expect(probeByteFlip(blind, p, 1, 40, 0x7a)).rejects.toThrow(/tamper-detected/);
    await expect(probeByteFlip(srcLibrary, p, 1, 40, 0x7a)).resolves.toBeDefined();
  });

  it('a parser that throws an untyped error fails the parser property', () => {
    expect(() => typedOrValue(srcLibrary, 'parser-typed', 'JSON.parse', () => JSON.parse('{'))).toThrow(/parser-typed/);
    expect(typedOrValue(srcLibrary, 'parser-typed', 'parseEventLine', () => srcLibrary.parseEventLine('{')).error).toBeInstanceOf(srcLibrary.SealedLedgerError);
  });
});
