// spec §1.2: the public surface is exactly what the export map publishes.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

describe('package exports', () => {
  it('maps ".", "./testing" and the bin to built files', () => {
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './package.json', './testing']);
    for (const entry of ['.', './testing']) {
      for (const file of Object.values(pkg.exports[entry]) as string[]) {
        expect(fs.existsSync(new URL(`../${file}`, import.meta.url)), file).toBe(true);
      }
    }
    expect(pkg.bin['sealed-ledger']).toBe('./dist/cli/main.js');
    expect(fs.readFileSync(new URL('../dist/cli/main.js', import.meta.url), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });

  it('the library entry exports the names the issues fix, and no test helper', async () => {
    const lib = await import('../dist/index.js');
    const required = [
      'sealEvent', 'verifyEventSeal', 'signEvent', 'verifyEventSignature', 'canonicalize', 'generateSigningKey',
      'Keyring', 'verifyEd25519', 'Ledger', 'appendEvent', 'appendSignedEvent', 'mirrorSingleEventIntoSqlite',
      'mirrorSingleEventIntoSqliteInTx', 'replayJsonlIntoSqlite', 'verifyEventSetParity', 'verifyLedger',
      'PARITY_INVARIANT_RULE_ID', 'verifyInclusion', 'verifyConsistency', 'verifyCheckpoint', 'rootFromLeaves',
      'SealedLedgerError',
    ];
    for (const name of required) expect(lib, name).toHaveProperty(name);
    expect(lib).not.toHaveProperty('mirrorPolicyDecisionTestAllow');
    expect(lib).not.toHaveProperty('SimulatedCrash');
  });

  it('the testing entry exports the test-only helpers', async () => {
    const testing = await import('../dist/testing.js');
    expect(testing.mirrorPolicyDecisionTestAllow().rules[0]?.id).toBe('sealed-ledger/parity-invariant');
    expect(testing).toHaveProperty('SimulatedCrash');
  });

  it('resolves by package name (self-reference through the export map)', async () => {
    const byName = await import('sealed-ledger');
    const testing = await import('sealed-ledger/testing');
    expect(typeof byName.Ledger.open).toBe('function');
    expect(typeof testing.mirrorPolicyDecisionTestAllow).toBe('function');
  });
});
