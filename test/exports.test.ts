// spec §1.2: the public surface is exactly what the export map publishes, and README names it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const dist = (f: string) => new URL(`../dist/${f}`, import.meta.url).pathname;

const LIBRARY_VALUES = [
  'CollectorError', 'ConflictError', 'Consumer', 'DEFAULT_LIMITS', 'DEFAULT_POLL_INTERVAL_MS',
  'EVENT_SIGNATURE_CONTEXT', 'FORMAT_VERSION', 'GENESIS_PREV', 'ID_PATTERN', 'InvalidInputError', 'KIND_PATTERN',
  'KeyError', 'Keyring', 'Ledger', 'LedgerStateError', 'PARITY_INVARIANT_RULE_ID', 'PolicyError', 'ProofError',
  'SealedLedgerError', 'Shipper', 'VerificationError', 'allowActors', 'allowKinds', 'appendEvent', 'appendSignedEvent',
  'assertValidPublicKey', 'canonicalize', 'computeEventHash', 'consistencyProof', 'consumer', 'encodeEventLine',
  'eventSignatureMessage', 'follow', 'followRecords', 'formatCheckpoint', 'generateSigningKey', 'inclusionProof',
  'isSealedLedgerError', 'keyIdFor', 'listConsumers', 'loadTrustedKeys', 'mirrorSingleEventIntoSqlite',
  'mirrorSingleEventIntoSqliteInTx', 'parseCheckpoint', 'parseEventLine', 'parseNote', 'parseVerifierKey',
  'payloadRule', 'publicKeyFromSeed', 'readSigningKeyFile', 'rebuildProjection', 'replayJsonlIntoSqlite',
  'requireSignature', 'resetConsumer', 'rootFromLeaves', 'sealEvent', 'signCheckpoint', 'signEd25519', 'signEvent',
  'signNote', 'signingKeyFromSeed', 'startShipper', 'trustedKeysFromKeyring', 'trustedKeysFromVerifierKeys',
  'verifierKeyString', 'verifyCheckpoint', 'verifyConsistency', 'verifyEd25519', 'verifyEventSeal',
  'verifyEventSetParity', 'verifyEventSignature', 'verifyInclusion', 'verifyLedger', 'verifyNote',
  'writeSigningKeyFile',
];
const LIBRARY_TYPES = [
  'AppendOptions', 'CheckpointBody', 'ConsistencyProofJson', 'ConsumeOptions', 'ConsumerOffset', 'ConsumerOptions',
  'ErrorCode', 'EventHeader', 'EventInput', 'EventLimits', 'EventMismatch', 'EventQuery', 'EventSetParity', 'EventSignature',
  'EventSigner', 'ExternalCheckpoint', 'FeedCursor', 'FeedRecord', 'FollowFolderOptions', 'FollowOptions',
  'InclusionProofJson', 'Inspection', 'JsonValue', 'JsonlDefect', 'KeyUse', 'KeyringEntry', 'LedgerHead',
  'LedgerOptions', 'LedgerSchema', 'MirrorOutcome', 'NodeReader', 'NoteSigner', 'Policy', 'PolicyDecision',
  'PolicyOutcome', 'PolicyRule', 'ProjectionWorkerOptions', 'RebuildReport', 'ReconcileReport', 'ReplayOptions', 'ReplayReport', 'RuleResult',
  'SealedEvent', 'SeqRange', 'ShipError', 'ShipLogRecord', 'ShipperOptions', 'ShipperState', 'ShipperStatus',
  'SigningKey', 'SqliteConnection', 'StorePaths', 'StoredCheckpoint', 'TailDefect', 'TrustStatement', 'TrustedKeys',
  'VerifyOptions', 'VerifyProblem', 'VerifyReport', 'Watermark', 'WitnessFindings', 'WitnessRecord', 'WitnessStatus',
];
const TESTING_VALUES = [
  'NODE_FILE_IO', 'SimulatedCrash', 'ledgerState', 'mirrorPolicyDecisionTestAllow', 'onTreeNodeRead', 'projectionWorkerOf',
  'simulateProcessDeath', 'verifyEd25519Portable',
];
const TESTING_TYPES = ['CrashHook', 'CrashPoint', 'FileIO', 'LedgerState'];
/** Ledger's public instance members as the published .d.ts declares them (README's table). */
const LEDGER_MEMBERS = [
  'append', 'appendBatch', 'checkpoint', 'checkpoints', 'close', 'eventById', 'events', 'flush', 'follow', 'get',
  'headInfo', 'inspection', 'lastReconcile', 'onClose', 'onCommit', 'proveConsistency', 'proveInclusion', 'query',
  'requireSignaturesFromNow', 'rootHash', 'warnings',
];

/** What the published declarations export, and Ledger's non-private members, read with the compiler. */
let program: ts.Program | undefined;
function declarations(file: string) {
  program ??= ts.createProgram([dist('index.d.ts'), dist('testing.d.ts')], {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true,
  });
  const checker = program.getTypeChecker();
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)!)!);
  const resolve = (s: ts.Symbol) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const values = exports.filter((s) => (resolve(s).flags & ts.SymbolFlags.Value) !== 0);
  const publicMembers = (name: string) => {
    const sym = resolve(exports.find((s) => s.name === name)!);
    return checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(sym))
      .filter((p) => !(ts.getCombinedModifierFlags(p.declarations![0]!) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)))
      // '#private' stands for ES private fields, which no code outside the class can name.
      .filter((p) => p.name !== '#private')
      .map((p) => p.name).sort();
  };
  return {
    values: values.map((s) => s.name).sort(),
    types: exports.filter((s) => !values.includes(s)).map((s) => s.name).sort(),
    publicMembers,
  };
}

describe('package exports', () => {
  it('maps ".", "./testing" and the bin to built files, for import and require', () => {
    expect(pkg.exports).toEqual({
      '.': { types: './dist/index.d.ts', default: './dist/index.js' },
      './testing': { types: './dist/testing.d.ts', default: './dist/testing.js' },
      './collector': { types: './dist/collector/index.d.ts', default: './dist/collector/index.js' },
      './package.json': './package.json',
    });
    expect(pkg.typesVersions).toEqual({ '*': { testing: ['./dist/testing.d.ts'], collector: ['./dist/collector/index.d.ts'] } });
    for (const file of ['index.js', 'index.d.ts', 'testing.js', 'testing.d.ts']) expect(fs.existsSync(dist(file)), file).toBe(true);
    expect(pkg.bin['sealed-ledger']).toBe('./dist/cli/main.js');
    expect(fs.readFileSync(dist('cli/main.js'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });

  it('the library entry exports exactly the public values; README names each', async () => {
    const lib = await import('../dist/index.js');
    expect(Object.keys(lib).sort()).toEqual(LIBRARY_VALUES);
    for (const name of LIBRARY_VALUES) expect(readme, name).toMatch(new RegExp(`\`[^\`]*\\b${name}\\b[^\`]*\``));
  });

  it('the testing entry exports exactly the test-only helpers', async () => {
    const testing = await import('../dist/testing.js');
    expect(Object.keys(testing).sort()).toEqual(TESTING_VALUES);
    expect(testing.mirrorPolicyDecisionTestAllow().rules[0]?.id).toBe('sealed-ledger/parity-invariant');
  });

  it('the published declarations export exactly these values and types', () => {
    const lib = declarations(dist('index.d.ts'));
    expect(lib.values).toEqual(LIBRARY_VALUES);
    expect(lib.types).toEqual(LIBRARY_TYPES);
    const testing = declarations(dist('testing.d.ts'));
    expect(testing.values).toEqual(TESTING_VALUES);
    expect(testing.types).toEqual(TESTING_TYPES);
  });

  it('Ledger declares exactly the members README documents, no internals', () => {
    const members = declarations(dist('index.d.ts')).publicMembers('Ledger');
    expect(members).toEqual(LEDGER_MEMBERS);
    for (const m of LEDGER_MEMBERS) expect(readme, m).toMatch(new RegExp(`ledger\\.${m}\\b`));
  });

  it('a Ledger holds nothing at runtime beyond the documented members: no own property, no other prototype key', async () => {
    const { Ledger } = await import('../dist/index.js');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-surface-'));
    try {
      for (const readOnly of [false, true]) {
        const ledger = await Ledger.open({ dir: path.join(root, 'l'), create: !readOnly, readOnly });
        try {
          expect(Reflect.ownKeys(ledger)).toEqual([]);
          const proto = Object.getPrototypeOf(ledger);
          expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
          expect(Reflect.ownKeys(proto).filter((k) => k !== 'constructor').map(String).sort()).toEqual(LEDGER_MEMBERS);
          expect(Reflect.ownKeys(Ledger).map(String).sort()).toEqual(['length', 'name', 'open', 'prototype']);
          // The writer stays unreachable by name: the internals of old are gone, not renamed.
          for (const name of ['head', 'frontier', 'jsonl', 'projection', 'tree', 'crash', 'die', 'poison', 'healInLock', 'writer']) {
            expect(name in ledger, name).toBe(false);
          }
        } finally {
          await ledger.close();
        }
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('resolves by package name (self-reference through the export map)', async () => {
    const byName = await import('sealed-ledger');
    const testing = await import('sealed-ledger/testing');
    expect(typeof byName.Ledger.open).toBe('function');
    expect(typeof testing.mirrorPolicyDecisionTestAllow).toBe('function');
  });
});
