// The ship fuzz suite (spec §20, §20.10; `npm run fuzz -- --suite ship` runs it longer), on real
// processes only: a collector process on PostgreSQL serving the witness, writer processes
// appending (SIGKILLed at random), the sidecar `sealed-ledger ship --checkpoint-key` (SIGKILLed
// and SIGTERMed), the fault proxy between the sidecar and the collector, and collector restarts
// (SIGKILL or SIGTERM, down for a while). fast-check picks the interleaving. Properties:
//   P1 the collector's chain is always a prefix of the host's: its head (seq, hash) is the host's
//      line at that seq, sampled all along (the chain link commits to everything before it);
//   P2 every acknowledged event is eventually stored, once: at the end the collector's export is
//      byte-identical to events.jsonl, `collector verify` exits 0 (chains, no fork, no duplicate);
//   P3 the cursor never skips: the shipper's recorded shipped-through is never past the
//      collector's head (status read before the head, which only grows);
//   P4 witnessed on the way: at the end witness.jsonl is non-empty, its last record is the size
//      the collector's latest cosigned checkpoint names, and `verify --witness-key` exits 0.
// A failure prints the seed, the path and the command that replays it.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, it } from 'vitest';
import { generateSigningKey, signingKeyFromSeed, writeSigningKeyFile } from '../../src/crypto/signing-key.js';
import { readWitnessLog } from '../../src/ledger/witness-log.js';
import { cosignatureVerifierKeyString } from '../../src/merkle/cosignature.js';
import { ensureBuilt } from '../cli/cli-harness.js';
import { FaultProxy, type FaultMode } from '../support/fault-proxy.js';
import { tempDir } from '../helpers.js';
import {
  assertCollectorHolds, cleanupAll, cli, CollectorProcess, healHost, type Host, newHost, newPgDatabase, onCleanup, SidecarProcess, startWriter,
  type WriterProcess,
} from './e2e/harness.js';

const env = process.env;
const RUNS = Number(env.SEALED_LEDGER_SHIP_FUZZ_RUNS ?? 2);
const SECONDS = env.SEALED_LEDGER_SHIP_FUZZ_SECONDS ? Number(env.SEALED_LEDGER_SHIP_FUZZ_SECONDS) : undefined;
const OUTAGE_MS = Number(env.SEALED_LEDGER_SHIP_FUZZ_OUTAGE_MS ?? 1500);
const STEPS = Number(env.SEALED_LEDGER_SHIP_FUZZ_STEPS ?? 5);
/** How long the end state may take to settle (everything shipped and witnessed). */
const SETTLE_MS = Number(env.SEALED_LEDGER_SHIP_FUZZ_SETTLE_MS ?? 90_000);

type Step =
  | { t: 'append'; count: number; mode: 'single' | 'batch' | 'concurrent'; killAfterMs: number | null }
  | { t: 'killSidecar' }
  | { t: 'termSidecar' }
  | { t: 'fault'; mode: FaultMode; ms: number }
  | { t: 'restartCollector'; signal: 'SIGKILL' | 'SIGTERM'; downMs: number }
  | { t: 'wait'; ms: number };

const faultArb: fc.Arbitrary<FaultMode> = fc.oneof(
  fc.constant<FaultMode>({ kind: 'drop' }),
  fc.constant<FaultMode>({ kind: 'blackhole' }),
  fc.integer({ min: 10, max: 200 }).map<FaultMode>((ms) => ({ kind: 'delay', ms })),
  fc.integer({ min: 0, max: 200 }).map<FaultMode>((afterBytes) => ({ kind: 'reset', afterBytes })),
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('append' as const), count: fc.integer({ min: 1, max: 300 }), mode: fc.constantFrom('single' as const, 'batch' as const, 'concurrent' as const), killAfterMs: fc.option(fc.integer({ min: 0, max: 800 })) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'killSidecar' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'termSidecar' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('fault' as const), mode: faultArb, ms: fc.integer({ min: 50, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restartCollector' as const), signal: fc.constantFrom('SIGKILL' as const, 'SIGTERM' as const), downMs: fc.integer({ min: 0, max: OUTAGE_MS }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 500 }) }) },
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The collector's view of the source, straight to it (not through the proxy); undefined while it is down. */
async function collectorHead(url: string, host: Host): Promise<{ next: number; head: { seq: number; hash: string } | null } | undefined> {
  try {
    const res = await fetch(`${url}/v1/sources/${host.name}`, { headers: { authorization: `Bearer ${host.token}` }, signal: AbortSignal.timeout(5000) });
    if (!res.ok) return undefined;
    return (await res.json()) as { next: number; head: { seq: number; hash: string } | null };
  } catch {
    return undefined;
  }
}

/** The size named by the collector's latest cosigned checkpoint of the source (0: none); a string says why it could not be read. */
async function cosignedSize(url: string, host: Host): Promise<number | string> {
  try {
    const res = await fetch(`${url}/v1/sources/${host.name}/checkpoint`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    if (res.status === 404) return 0;
    if (res.status !== 200) return `HTTP ${res.status}: ${text.slice(0, 200)}`;
    return Number(text.split('\n')[1]);
  } catch (e) {
    return `fetch failed: ${String((e as Error).cause ?? e)}`;
  }
}

function hostLines(host: Host): string[] {
  return fs.readFileSync(path.join(host.dir, 'events.jsonl'), 'utf8').split('\n').slice(0, -1);
}

let scenarioNo = 0;

async function scenario(steps: Step[]): Promise<void> {
  const n = scenarioNo++;
  const t = tempDir('sealed-ledger-shipfuzz-');
  onCleanup(t.cleanup);
  const witnessKey = generateSigningKey({ name: 'witness.example/fuzz' });
  const witnessFile = path.join(t.dir, 'witness.key');
  writeSigningKeyFile(witnessKey, witnessFile);
  const witnessVkey = cosignatureVerifierKeyString(witnessKey.name, witnessKey.publicKey);
  const db = await newPgDatabase(`shipfuzz_${n}`);
  const collector = await CollectorProcess.start(db, ['--witness-key', witnessFile]);
  const host = await newHost(db, `fuzz-${n}`, 9);
  const checkpointKey = path.join(t.dir, 'checkpoint.key');
  writeSigningKeyFile(signingKeyFromSeed(Buffer.from(host.seed, 'hex'), host.keyName), checkpointKey);
  const proxy = await FaultProxy.start({ port: collector.port });
  onCleanup(() => proxy.close());
  const sidecar = new SidecarProcess(host, proxy.url, [
    '--batch-lines', '97', '--drain-ms', '1000', '--backoff-min', '20', '--backoff-max', '400',
    '--checkpoint-key', checkpointKey, '--checkpoint-every', '60', '--checkpoint-interval', '300',
  ]);
  const acks: WriterProcess['acks'] = [];
  let writer: WriterProcess | undefined;
  let violation: string | undefined;
  let samples = 0;
  // P1 and P3, sampled all along.
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const st = sidecar.status() as { shippedThrough: number | null } | undefined;
      const head = await collectorHead(collector.url, host);
      if (head) {
        samples++;
        if (head.head) {
          const line = hostLines(host)[head.head.seq];
          const hash = line === undefined ? undefined : (JSON.parse(line) as { hash: string }).hash;
          if (hash !== head.head.hash) violation ??= `P1: the collector's head seq ${head.head.seq} (${head.head.hash}) is not the host's line (${hash ?? 'missing'})`;
        }
        if (st?.shippedThrough != null && st.shippedThrough > head.next - 1) {
          violation ??= `P3: the shipper recorded shipped-through ${st.shippedThrough}, the collector holds through ${head.next - 1}`;
        }
      }
      await sleep(150);
    }
  })();
  try {
    for (const step of steps) {
      if (step.t === 'append') {
        if (writer) await writer.done;
        const w = startWriter(host, step.count, step.mode);
        let exited = false;
        void w.done.then(() => {
          exited = true;
          acks.push(...w.acks);
        });
        writer = w;
        // The next steps (and the kill) land while it appends, not while node starts.
        while (w.acks.length === 0 && !exited) await sleep(10);
        if (step.killAfterMs !== null) setTimeout(() => w.child.kill('SIGKILL'), step.killAfterMs).unref();
      } else if (step.t === 'killSidecar') {
        await sidecar.kill('SIGKILL');
        sidecar.start();
      } else if (step.t === 'termSidecar') {
        const code = await sidecar.kill('SIGTERM');
        if (code !== 0) violation ??= `the sidecar exited ${code} on SIGTERM`;
        sidecar.start();
      } else if (step.t === 'fault') {
        proxy.set(step.mode);
        await sleep(step.ms);
        proxy.set({ kind: 'pass' });
      } else if (step.t === 'restartCollector') {
        await collector.kill(step.signal);
        await sleep(step.downMs);
        await collector.start();
      } else {
        await sleep(step.ms);
      }
    }
    if (writer) await writer.done;
    // Heal the folder as the next writer would (a killed writer may have left a torn tail).
    await healHost(host);
    proxy.set({ kind: 'pass' });
    const total = hostLines(host).length;
    // Everything shipped and witnessed at the host's size (the interval issues the last checkpoint).
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const head = await collectorHead(collector.url, host);
      const witnessed = (sidecar.status() as { witness?: { witnessedSize: number } } | undefined)?.witness?.witnessedSize;
      if (head?.next === total && (total === 0 || (witnessed === total && (await cosignedSize(collector.url, host)) === total))) break;
      if (violation) break;
      if (Date.now() > deadline) {
        throw new Error(`not settled after ${SETTLE_MS} ms: host ${total} events, collector next ${head?.next}, witnessed ${witnessed}; shipper ${JSON.stringify(sidecar.status())}`);
      }
      await sleep(200);
    }
    sampling = false;
    await sampler;
    if (violation) throw new Error(violation);
    const code = await sidecar.kill('SIGTERM');
    if (code !== 0) throw new Error(`the sidecar exited ${code} on the final SIGTERM`);
    // P2: every acknowledged event stored once, at its seq; the chain verifies at the collector.
    const lines = hostLines(host);
    for (const a of acks) {
      if (!lines[a.seq]?.includes(`"id":"${a.id}"`)) throw new Error(`P2: acknowledged event ${a.id} is not at seq ${a.seq}`);
    }
    if (total > 0) assertCollectorHolds(db, host);
    // P4: witnessed on the way, up to the size the collector's latest cosigned checkpoint names.
    if (total > 0) {
      const records = readWitnessLog(host.dir).map((l) => l.record);
      if (records.length === 0 || records.some((r) => r === undefined)) throw new Error(`P4: witness.jsonl holds ${records.length} records (or a malformed one)`);
      let cosigned = await cosignedSize(collector.url, host);
      for (let i = 0; typeof cosigned === 'string' && i < 20; i++) {
        await sleep(250);
        cosigned = await cosignedSize(collector.url, host);
      }
      if (records.at(-1)!.size !== cosigned) throw new Error(`P4: witness.jsonl's last record is size ${records.at(-1)!.size}, the collector's latest cosigned checkpoint: ${cosigned}`);
      const v = cli(['verify', host.dir, '--witness-key', witnessVkey, '--witness-url', collector.url, '--source', host.name]);
      if (v.status !== 0) throw new Error(`P4: verify --witness-key exited ${v.status}: ${v.stdout}${v.stderr}`);
      if (!v.stdout.includes(`witnessed by witness.example/fuzz up to size ${cosigned}`)) throw new Error(`P4: verify did not report the witnessed size ${cosigned}: ${v.stdout}`);
    }
    if (samples === 0) throw new Error('P1/P3 were never sampled');
    const witnessedAt = total > 0 ? readWitnessLog(host.dir).at(-1)!.record!.size : 0;
    console.log(`run ${n}: ${steps.map((s) => s.t).join(',')}; ${total} events (${acks.length} acknowledged), witnessed up to ${witnessedAt}, ${samples} samples, proxy ${JSON.stringify(proxy.stats)}`);
  } finally {
    sampling = false;
    await sampler;
    await cleanupAll();
  }
}

beforeAll(ensureBuilt);
afterEach(cleanupAll);

describe('ship fuzz on real processes (spec §20)', () => {
  it(`random appends, kills of writer, sidecar and collector, proxy faults and collector restarts (${RUNS} runs${SECONDS ? `, ${SECONDS} s` : ''})`, async () => {
    const params: fc.Parameters<[Step, Step[]]> = { numRuns: SECONDS ? 1e9 : RUNS, endOnFailure: true };
    if (SECONDS) params.interruptAfterTimeLimit = SECONDS * 1000;
    if (env.SEALED_LEDGER_SHIP_FUZZ_SEED) params.seed = Number(env.SEALED_LEDGER_SHIP_FUZZ_SEED);
    if (env.SEALED_LEDGER_SHIP_FUZZ_PATH) params.path = env.SEALED_LEDGER_SHIP_FUZZ_PATH;
    let runs = 0;
    // Every run starts with appends, so that there is always something to ship and witness.
    const first = fc.record({ t: fc.constant('append' as const), count: fc.integer({ min: 20, max: 300 }), mode: fc.constantFrom('single' as const, 'batch' as const, 'concurrent' as const), killAfterMs: fc.constant(null) });
    const details = await fc.check(fc.asyncProperty(first, fc.array(stepArb, { minLength: 1, maxLength: STEPS }), async (start, steps) => {
      runs++;
      await scenario([start, ...steps]);
    }), params);
    console.log(`ship fuzz: ${runs} runs, seed ${details.seed}`);
    if (details.failed) {
      const replay = `npm run fuzz -- --suite ship --seed ${details.seed} --path ${details.counterexamplePath}`;
      const direct = `SEALED_LEDGER_SHIP_FUZZ_SEED=${details.seed} SEALED_LEDGER_SHIP_FUZZ_PATH=${details.counterexamplePath} npx vitest run test/ship/ship-fuzz.test.ts`;
      throw new Error(`ship fuzz violated (seed ${details.seed}, path ${details.counterexamplePath}): ${fc.stringify(details.counterexample)}\n${String(details.errorInstance)}\nreplay: ${replay}\n    or: ${direct}`);
    }
  }, SECONDS ? SECONDS * 1000 + 300_000 : Math.max(600_000, RUNS * 200_000));
});
