#!/usr/bin/env node
/**
 * The long crash, kill and fuzz runs against the built package (dist/): `npm run fuzz -- ...`.
 *
 *   --suite <names>   comma-separated: sim, kill, tamper, flips, truncations, tails, bounds, parsers, reader,
 *                     parseEventLine, canonicalize, keyring, keyFile, note, verifierKey, stdin,
 *                     cli, ship (the shipper: writer/sidecar kills, proxy faults, collector
 *                     restarts; runs test/ship/ship-fuzz.test.ts longer), or all
 *                     (default: sim,kill,tamper,parsers)
 *   --runs <n>        fast-check runs per property (default: per suite)
 *   --seconds <s>     time budget per property; with it and no --runs, runs until the time is up
 *   --seed <n> --path <p>   replay one failure (printed on failure), with the same --suite
 *   --mutant <name>   run with a deliberately broken FileIO (fuzz/lib/disk-model.mjs MUTANTS) or
 *                     writer (early-ack, sqlite-first): the run must FAIL
 *   --only <props>    check only these properties (oracle.mjs PROPERTIES)
 *   --holes           power cuts may keep a later sector and lose an earlier one (spec §7.3 refusal)
 *   --no-shrink       report the first failure as found (the kill suite never shrinks)
 *   --verbose         fast-check verbose failure output
 *
 * Exit code 0 when every property held, 1 on a violation (the seed, path and a command to
 * replay it are printed), 2 on bad arguments.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { MUTANTS } from './lib/disk-model.mjs';
import { killProperty, newKillStats } from './lib/kill-harness.mjs';
import { loadDistLibrary, snapshotDist } from './lib/library.mjs';
import { PROPERTIES } from './lib/oracle.mjs';
import * as P from './lib/parsers.mjs';
import { newStats, simulatedCrashProperty } from './lib/sim-crash.mjs';
import * as T from './lib/tamper.mjs';
import * as B from './lib/bounds.mjs';
import { tailProbeProperty } from './lib/tail-tamper.mjs';

const USAGE = 'usage: npm run fuzz -- [--suite sim,kill,tamper,parsers|all] [--runs N] [--seconds S] [--seed N --path P] [--mutant M] [--only P,..] [--holes] [--no-shrink] [--verbose]';

function parseArgs(argv) {
  const a = { suite: 'sim,kill,tamper,parsers', verbose: false, holes: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) bad(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--suite') a.suite = v();
    else if (k === '--runs') a.runs = Number(v());
    else if (k === '--seconds') a.seconds = Number(v());
    else if (k === '--seed') a.seed = Number(v());
    else if (k === '--path') a.path = v();
    else if (k === '--mutant') a.mutant = v();
    else if (k === '--only') a.only = v().split(',');
    else if (k === '--holes') a.holes = true;
    else if (k === '--verbose') a.verbose = true;
    else if (k === '--no-shrink') a.noShrink = true;
    else if (k === '--help' || k === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else bad(`unknown argument ${k}`);
  }
  for (const n of ['runs', 'seconds', 'seed']) if (a[n] !== undefined && !Number.isFinite(a[n])) bad(`--${n} must be a number`);
  if (a.path !== undefined && a.seed === undefined) bad('--path needs --seed');
  if (a.mutant && !(a.mutant in MUTANTS) && !['early-ack', 'sqlite-first'].includes(a.mutant)) bad(`unknown mutant ${a.mutant}; known: ${[...Object.keys(MUTANTS), 'early-ack', 'sqlite-first'].join(', ')}`);
  for (const p of a.only ?? []) if (!PROPERTIES.includes(p)) bad(`unknown property ${p}; known: ${PROPERTIES.join(', ')}`);
  return a;
}

function bad(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const args = parseArgs(process.argv.slice(2));
// Our own copy: a rebuild by someone else during a long run must not reach our writers.
const lib = await loadDistLibrary(snapshotDist());
const root = fs.mkdtempSync(path.join(process.env.SEALED_LEDGER_FUZZ_TMP ?? (fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir()), 'sealed-ledger-fuzz-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
// Interrupted runs still clean up (exit handlers run on process.exit, not on a signal).
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) process.on(signal, () => process.exit(code));

/** fast-check parameters for one property: budget, replay, shrinking. */
function params(defaultRuns, shrink = true) {
  const p = { verbose: args.verbose ? 1 : 0, endOnFailure: !shrink || args.noShrink };
  if (args.seed !== undefined) p.seed = args.seed;
  if (args.path !== undefined) p.path = args.path;
  if (args.runs !== undefined) p.numRuns = args.runs;
  else if (args.seconds !== undefined) p.numRuns = 1e9;
  else p.numRuns = defaultRuns;
  if (args.seconds !== undefined) p.interruptAfterTimeLimit = args.seconds * 1000;
  return p;
}

const replayFlags = () => [
  args.mutant ? `--mutant ${args.mutant}` : '',
  args.only ? `--only ${args.only.join(',')}` : '',
  args.holes ? '--holes' : '',
].filter(Boolean).join(' ');

let failed = 0;
const summary = [];

/** Run one property; print its counts, or the failure with a replay command. */
async function run(name, property, defaultRuns, counts, shrink = true) {
  const started = Date.now();
  const details = await fc.check(property, params(defaultRuns, shrink));
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  const extra = counts ? ` ${JSON.stringify(counts())}` : '';
  if (details.failed) {
    failed++;
    const e = details.errorInstance;
    console.log(`\n✗ ${name}: violated after ${details.numRuns} runs (${secs} s)${extra}`);
    console.log(`  ${e instanceof Error ? e.message.replace(/\n/g, '\n  ') : String(e)}`);
    console.log(`  counterexample: ${fc.stringify(details.counterexample).slice(0, 1500)}`);
    console.log(`  seed ${details.seed}, path ${details.counterexamplePath}`);
    console.log(`  replay: npm run fuzz -- --suite ${name} --seed ${details.seed} --path "${details.counterexamplePath}" ${replayFlags()}`.trimEnd());
    if (e instanceof Error && !e.property && e.stack) console.log(e.stack.split('\n').slice(1, 8).join('\n'));
  } else {
    console.log(`✓ ${name}: ${details.numRuns} runs in ${secs} s${details.interrupted ? ' (time budget reached)' : ''}${extra}`);
  }
  summary.push({ name, runs: details.numRuns, seconds: Number(secs), failed: details.failed, ...(counts ? counts() : {}) });
}

const simConfig = () => ({ only: args.only, mutant: args.mutant && args.mutant in MUTANTS ? args.mutant : undefined, holes: args.holes });

const SUITES = {
  async sim() {
    const stats = newStats();
    await run('sim', simulatedCrashProperty(lib, { ...simConfig(), stats }), 3000, () => {
      const { byWhere, ...counts } = stats;
      return counts;
    });
    const places = Object.entries(stats.byWhere).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`);
    console.log(`  crashes by kind and place: ${places.join(', ')}`);
  },
  async kill() {
    const stats = newKillStats();
    const mutant = ['early-ack', 'sqlite-first'].includes(args.mutant) ? args.mutant : undefined;
    // Kill timings do not replay exactly: shrinking would chase a moving target, slowly.
    await run('kill', killProperty(lib, { stats, only: args.only, mutant, dist: lib.dist }), 300, () => stats, false);
  },
  async flips() {
    const p = await T.buildPristine(lib, path.join(root, 'flips'));
    if (args.seed === undefined) {
      // Every byte of every line, with every single-bit mask.
      const started = Date.now();
      const masks = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80];
      const counts = await T.exhaustiveFlips(lib, p, p.lines.map((_, i) => i), masks);
      const n = Object.values(counts).reduce((a, b) => a + b, 0);
      console.log(`✓ flips (exhaustive): ${n} probes in ${((Date.now() - started) / 1000).toFixed(1)} s ${JSON.stringify(counts)}`);
      summary.push({ name: 'flips-exhaustive', runs: n });
    }
    await run('flips', fc.asyncProperty(T.flipArb(p), ([l, pos, v]) => T.probeByteFlip(lib, p, l, pos, v).then(() => undefined)), 2000);
  },
  async truncations() {
    const p = await T.buildPristine(lib, path.join(root, 'truncations'));
    if (args.seed === undefined) {
      const started = Date.now();
      for (let t = 0; t < p.bytes.length; t++) await T.probeTruncation(lib, p, t);
      console.log(`✓ truncations (every offset): ${p.bytes.length} probes in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    const others = async () => {
      const started = Date.now();
      const n = (await T.lineProbes(lib, p)) + (await T.signatureProbes(lib, p));
      let m = 0;
      for (let seq = 0; seq < p.n; seq++) m += await T.sqliteProbes(lib, p, seq);
      console.log(`✓ line, signature and ledger.db probes: ${n + m} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const folder = Date.now();
      const s = (await T.signatureStripProbes(lib, p)) + (await T.symlinkProbes(lib, p));
      console.log(`✓ signature-strip and symlink probes: ${s} in ${((Date.now() - folder) / 1000).toFixed(1)} s`);
      const t0 = Date.now();
      const trust = [
        ['merkle_nodes', await T.merkleNodeProbes(lib, p)],
        ['watermark', await T.watermarkProbes(lib, p)],
        ['checkpoints table', await T.checkpointTableProbes(lib, p)],
        ['keyring swap', await T.keyringSwapProbes(lib, p)],
      ];
      console.log(`✓ trust-model probes: ${trust.map(([k, c]) => `${k} ${c}`).join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    };
    if (args.seed === undefined) await others();
    await run('truncations', fc.asyncProperty(fc.integer({ min: 0, max: p.bytes.length - 1 }), (t) => T.probeTruncation(lib, p, t)), 300);
  },
  async tails() {
    const p = await T.buildPristine(lib, path.join(root, 'tails'));
    const counts = {};
    await run('tails', tailProbeProperty(lib, p, counts), 1000, () => counts);
  },
  async tamper() {
    await SUITES.flips();
    await SUITES.truncations();
    await SUITES.tails();
  },
  async bounds() {
    const started = Date.now();
    const rows = await B.boundsRuns(lib, root);
    for (const r of rows) console.log(`  ${r.case}: ${JSON.stringify(r)}`);
    console.log(`✓ bounds: ${rows.length} runs within 64 MiB of the baseline RSS in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
  async reader() {
    const p = await T.buildPristine(lib, path.join(root, 'reader'), 4);
    await run('reader', P.jsonlReaderProperty(lib, p, path.join(root, 'reader')), 2000);
  },
  async keyFile() {
    const dir = path.join(root, 'keys');
    fs.mkdirSync(dir, { recursive: true });
    await run('keyFile', P.signingKeyFileProperty(lib, dir), 5000);
  },
  stdin: () => run('stdin', P.stdinEventsProperty(lib), 5000),
  async cli() {
    await run('cli', P.cliAppendProperty(lib, path.join(root, 'cli')), 200);
  },
  async ship() {
    // The shipper's scenarios drive real processes (a PostgreSQL collector serving the witness,
    // writers, the sidecar with --checkpoint-key) from TypeScript test support (the vitest
    // globalSetup's throwaway cluster, the fault proxy), so the suite runs its vitest file with a
    // larger budget.
    const { spawnSync } = await import('node:child_process');
    const started = Date.now();
    const env = {
      ...process.env,
      SEALED_LEDGER_SHIP_FUZZ_RUNS: String(args.runs ?? 40),
      SEALED_LEDGER_SHIP_FUZZ_OUTAGE_MS: process.env.SEALED_LEDGER_SHIP_FUZZ_OUTAGE_MS ?? '30000',
      SEALED_LEDGER_SHIP_FUZZ_STEPS: process.env.SEALED_LEDGER_SHIP_FUZZ_STEPS ?? '12',
      ...(args.seconds !== undefined ? { SEALED_LEDGER_SHIP_FUZZ_SECONDS: String(args.seconds) } : {}),
      ...(args.seed !== undefined ? { SEALED_LEDGER_SHIP_FUZZ_SEED: String(args.seed) } : {}),
      ...(args.path !== undefined ? { SEALED_LEDGER_SHIP_FUZZ_PATH: args.path } : {}),
    };
    const vitest = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'node_modules', 'vitest', 'vitest.mjs');
    const r = spawnSync(process.execPath, [vitest, 'run', 'test/ship/ship-fuzz.test.ts', '--testTimeout', '0'], { env, stdio: 'inherit', cwd: path.join(path.dirname(new URL(import.meta.url).pathname), '..') });
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (r.status !== 0) {
      failed++;
      console.log(`✗ ship: violated (${secs} s); the seed and path are printed above; replay: npm run fuzz -- --suite ship --seed <seed> --path <path>`);
    } else console.log(`✓ ship: ${args.seconds !== undefined ? `runs for ${args.seconds} s (the count is printed above)` : `${env.SEALED_LEDGER_SHIP_FUZZ_RUNS} runs`} in ${secs} s`);
    summary.push({ name: 'ship', seconds: Number(secs), failed: r.status !== 0 });
  },
  async parsers() {
    for (const name of Object.keys(P.PARSER_PROPERTIES)) await SUITES[name]();
    await SUITES.keyFile();
    await SUITES.reader();
    await SUITES.stdin();
    await SUITES.cli();
  },
  ...Object.fromEntries(Object.entries(P.PARSER_PROPERTIES).map(([name, make]) => [name, () => run(name, make(lib), 20000)])),
};

const names = args.suite === 'all' ? ['sim', 'kill', 'tamper', 'parsers'] : args.suite.split(',');
for (const n of names) if (!(n in SUITES)) bad(`unknown suite ${n}; known: ${Object.keys(SUITES).join(', ')}, all`);
if (args.seed !== undefined && names.length !== 1) bad('--seed replays one suite: give exactly one --suite');
console.log(`sealed-ledger fuzz: ${names.join(', ')} against a copy of dist/` +
  `${args.mutant ? `, mutant ${args.mutant}` : ''}${args.holes ? ', holes' : ''}`);
const started = Date.now();
for (const n of names) await SUITES[n]();
console.log(`\n${failed ? `${failed} propert${failed === 1 ? 'y' : 'ies'} violated` : 'all properties held'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exitCode = failed ? 1 : 0;
