/**
 * `sealed-ledger demo [dir]` (spec §15.1): the whole job on a local folder in a few seconds.
 * Creates a key and a ledger, appends signed events (batches and concurrent appends), verifies,
 * deletes ledger.db, sees the drift, replays, verifies again, signs a checkpoint and checks an
 * inclusion proof. Running it again replaces the previous demo ledger and its key, and nothing else:
 * a folder or key file that is not the demo's is refused and left as it is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError, LedgerStateError } from '../../errors.js';
import { type EventInput, uuidv7 } from '../../format/event.js';
import { ledgerPaths } from '../../store/layout.js';
import type { CliContext } from '../context.js';
import { isLedger } from '../ledger-folder.js';
import { ms } from '../report-text.js';
import { driftCount, verdictOf } from '../verdict.js';
import { generateSigningKey, Ledger, readSigningKeyFile, replayJsonlIntoSqlite, verifierKeyString, verifyCheckpoint, verifyInclusion, verifyLedger, type VerifyReport, writeSigningKeyFile } from '../../index.js';

const DEMO_ORIGIN_PREFIX = 'sealed-ledger.local/demo-';

function isDemoLedger(dir: string): boolean {
  try {
    const meta = JSON.parse(fs.readFileSync(ledgerPaths(dir).metadata, 'utf8')) as { origin?: unknown };
    return typeof meta.origin === 'string' && meta.origin.startsWith(DEMO_ORIGIN_PREFIX);
  } catch {
    return false;
  }
}

const DEMO_KEY_NAME = 'demo';

function isDemoKey(file: string): boolean {
  try {
    return readSigningKeyFile(file).name === DEMO_KEY_NAME;
  } catch {
    return false;
  }
}

/**
 * Make room for a fresh demo: a previous demo ledger (recognized by its origin) and the demo's key
 * file are removed, so that repeated runs leave nothing behind. Both are checked before either is
 * removed; anything else is refused and not touched.
 */
function prepare(dir: string, keyPath: string): string[] {
  const refuse = (what: string) => {
    throw new InvalidInputError('INVALID_ARGUMENT', `${what}; refusing to touch it (pick another folder: sealed-ledger demo <dir>)`, { details: { dir } });
  };
  const remove: string[] = [];
  if (fs.existsSync(dir)) {
    if (isLedger(dir) && isDemoLedger(dir)) remove.push(dir);
    else if (!fs.statSync(dir).isDirectory() || fs.readdirSync(dir).length > 0) refuse(`${dir} exists and is not a demo ledger`);
  }
  if (fs.existsSync(keyPath)) {
    if (!isDemoKey(keyPath)) refuse(`${keyPath} exists and is not a demo key`);
    remove.push(keyPath);
  }
  for (const p of remove) fs.rmSync(p, { recursive: true });
  return remove;
}

function sampleEvent(i: number): EventInput {
  const users = ['alice', 'bob', 'carol', 'dave'];
  const kinds = ['user.login', 'doc.view', 'doc.edit', 'role.grant'];
  const user = users[i % users.length]!;
  return { kind: kinds[(i * 7) % kinds.length]!, actor: user, payload: { n: i, user, doc: `doc-${i % 13}` } };
}

function mustBe(cond: boolean, what: string): void {
  if (!cond) throw new LedgerStateError('LEDGER_CORRUPT', `demo: ${what}`);
}

export async function demo(ctx: CliContext, dirArg: string, o: { events: number }): Promise<void> {
  const dir = path.resolve(dirArg);
  const keyPath = `${dir}.key.json`;
  const shown = path.relative(process.cwd(), dir) || '.';
  const started = performance.now();
  let stepNo = 0;
  const step = async <T>(f: () => Promise<T> | T, describe: (r: T) => string | string[]): Promise<T> => {
    const t0 = performance.now();
    const r = await f();
    const took = ms(performance.now() - t0);
    const [first, ...rest] = ([] as string[]).concat(describe(r));
    await ctx.out.say(`${String(++stepNo).padStart(2)}. ${first} (${took})`);
    for (const line of rest) await ctx.out.say(line ? `    ${line}` : '');
    return r;
  };
  const verifyStep = (label: string) =>
    step(() => verifyLedger({ dir }), (r: VerifyReport) => {
      const v = verdictOf(r);
      return v === 'ok'
        ? `${label}: OK: ${r.events} events, seals, chain and ${r.signed} signatures valid, events.jsonl and ledger.db in parity (exit 0)`
        : `${label}: ${v.toUpperCase()}: ${driftCount(r)} events missing from ledger.db (exit ${v === 'drift' ? 1 : 2})`;
    });

  const removed = prepare(dir, keyPath);
  for (const m of removed) await ctx.out.say(`removed the previous demo: ${path.relative(process.cwd(), m)}`);
  const key = await step(() => {
    const k = generateSigningKey({ name: DEMO_KEY_NAME });
    writeSigningKeyFile(k, keyPath);
    return k;
  }, (k) => `created signing key "${k.name}" (kid ${k.kid}) in ${path.relative(process.cwd(), keyPath)}, mode 0600, outside the ledger folder`);

  const origin = `${DEMO_ORIGIN_PREFIX}${uuidv7()}`;
  const ledger = await step(() => Ledger.open({ dir, create: true, origin, signer: key }), () => `created ledger ${shown} (origin ${origin}); key registered in keyring.json`);
  const batchSize = Math.max(1, Math.floor(o.events / 3));
  const concurrent = Math.max(0, o.events - 2 * batchSize);
  try {
    await step(async () => {
      await ledger.appendBatch(Array.from({ length: batchSize }, (_, i) => sampleEvent(i)));
      await ledger.appendBatch(Array.from({ length: batchSize }, (_, i) => sampleEvent(batchSize + i)));
      await Promise.all(Array.from({ length: concurrent }, (_, i) => ledger.append(sampleEvent(2 * batchSize + i))));
    }, () => `appended ${2 * batchSize + concurrent} signed events: 2 atomic batches of ${batchSize}, then ${concurrent} concurrent appends (group commit); head seq ${ledger.headInfo().seq}`);
  } finally {
    await ledger.close();
  }
  const total = 2 * batchSize + concurrent;
  mustBe(verdictOf(await verifyStep('verify')) === 'ok', 'the fresh ledger does not verify');

  const paths = ledgerPaths(dir);
  await step(() => {
    for (const p of [paths.sqlite, `${paths.sqlite}-wal`, `${paths.sqlite}-shm`]) fs.rmSync(p, { force: true });
  }, () => 'deleted ledger.db (disaster: the SQLite projection is gone, events.jsonl is canonical)');
  const lost = await verifyStep('verify');
  mustBe(verdictOf(lost) === 'drift' && driftCount(lost) === total, 'verify did not report the lost ledger.db as drift');

  await step(() => replayJsonlIntoSqlite({ dir }), (r) => `replayed events.jsonl into a new ledger.db: ${r.inserted} events, seq ${r.fromSeq + 1}..${r.toSeq}`);
  mustBe(verdictOf(await verifyStep('verify')) === 'ok', 'the replayed ledger does not verify');

  const verifier = verifierKeyString(key.name, key.publicKey);
  const again = await Ledger.open({ dir, signer: key, lockTimeoutMs: ctx.lockTimeoutMs });
  try {
    const note = await step(() => again.checkpoint(key), (n) => ['signed a C2SP checkpoint:', ...n.trimEnd().split('\n').map((l) => (l ? `  ${l}` : ''))]);
    const cp = await step(() => verifyCheckpoint(note, [verifier], { origin }), (c) => `checked the checkpoint against verifier key ${verifier}: size ${c.size}, signed by ${c.signers.map((s) => s.name).join(', ')}`);
    const seq = Math.floor(total / 2);
    await step(() => {
      const p = again.proveInclusion(seq);
      mustBe(p.leafHash === again.get(seq)?.hash, 'the proof leaf is not the event hash');
      mustBe(p.treeSize === cp.size, 'the proof is not for the checkpointed tree');
      const hex = (h: string) => Buffer.from(h, 'hex');
      verifyInclusion(hex(p.leafHash), p.index, p.treeSize, p.proof.map(hex), cp.rootHash);
      return p;
    }, (p) => `proved event seq ${seq} is in the tree of ${p.treeSize} with ${p.proof.length} hashes; verified against the checkpoint root`);
  } finally {
    await again.close();
  }
  await ctx.out.say(`done in ${ms(performance.now() - started)}. Try:`);
  // npx finds the bin both in a clone (after npm ci) and where the package is a dependency.
  await ctx.out.say(`    npx sealed-ledger verify ${shown}`);
  await ctx.out.say(`    npx sealed-ledger tail ${shown} -n 3`);
  await ctx.out.say(`    echo '{"kind":"note","payload":{"hello":"world"}}' | npx sealed-ledger append ${shown} --key ${path.relative(process.cwd(), keyPath)}`);
}
