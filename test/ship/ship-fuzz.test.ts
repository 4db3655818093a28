// The ship fuzz suite's CI slice (spec §20; `npm run fuzz -- --suite ship` runs it longer):
// random interleavings of appends by a writer process (SIGKILLed at random), SIGKILL and
// SIGTERM of the sidecar shipper process, proxy faults and collector restarts. Properties:
//   P1 the collector's chain is always a prefix of the host's lines;
//   P2 every acknowledged event is eventually stored at the collector, once (no FORK, no
//      duplicate row, ids unique);
//   P3 the shipper's recorded shipped-through never runs ahead of the collector (never skips).
// fast-check prints the seed and path of any failure; replay with SEALED_LEDGER_SHIP_FUZZ_SEED
// and SEALED_LEDGER_SHIP_FUZZ_PATH.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { BIN, ROOT, ensureBuilt } from '../cli/cli-harness.js';
import { FaultProxy, type FaultMode } from '../support/fault-proxy.js';
import { ProtocolPeer } from '../support/protocol-peer.js';
import { tempDir } from '../helpers.js';

const env = process.env;
const RUNS = Number(env.SEALED_LEDGER_SHIP_FUZZ_RUNS ?? 3);
const SECONDS = env.SEALED_LEDGER_SHIP_FUZZ_SECONDS ? Number(env.SEALED_LEDGER_SHIP_FUZZ_SECONDS) : undefined;
const OUTAGE_MS = Number(env.SEALED_LEDGER_SHIP_FUZZ_OUTAGE_MS ?? 1500);
const STEPS = Number(env.SEALED_LEDGER_SHIP_FUZZ_STEPS ?? 6);

type Step =
  | { t: 'append'; count: number; mode: 'single' | 'batch' | 'concurrent'; killAfterMs: number | null }
  | { t: 'killSidecar' }
  | { t: 'termSidecar' }
  | { t: 'fault'; mode: FaultMode; ms: number }
  | { t: 'restartCollector'; downMs: number }
  | { t: 'wait'; ms: number };

const faultArb: fc.Arbitrary<FaultMode> = fc.oneof(
  fc.constant<FaultMode>({ kind: 'drop' }),
  fc.constant<FaultMode>({ kind: 'blackhole' }),
  fc.integer({ min: 10, max: 200 }).map<FaultMode>((ms) => ({ kind: 'delay', ms })),
  fc.integer({ min: 0, max: 200 }).map<FaultMode>((afterBytes) => ({ kind: 'reset', afterBytes })),
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('append' as const), count: fc.integer({ min: 1, max: 400 }), mode: fc.constantFrom('single' as const, 'batch' as const, 'concurrent' as const), killAfterMs: fc.option(fc.integer({ min: 0, max: 600 })) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'killSidecar' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'termSidecar' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('fault' as const), mode: faultArb, ms: fc.integer({ min: 50, max: 1500 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restartCollector' as const), downMs: fc.integer({ min: 0, max: OUTAGE_MS }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 500 }) }) },
);

const SEED_HEX = '11'.repeat(32);

interface Writer {
  child: ChildProcess;
  acks: { seq: number; id: string }[];
  done: Promise<void>;
}

function startWriter(dir: string, step: Extract<Step, { t: 'append' }>, writerNo: number): Writer {
  const cfg = { dir, writer: `w${writerNo}`, mode: step.mode, count: step.count, batch: 25, concurrency: 8, pad: 20, seed: SEED_HEX, keyName: 'fuzz-key' };
  const child = spawn(process.execPath, [path.join(ROOT, 'fuzz/kill/writer.mjs'), JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: Writer['acks'] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /^ACK (\d+) (\S+)/.exec(line);
      if (m) acks.push({ seq: Number(m[1]), id: m[2]! });
      else if (line.startsWith('ERR')) console.error(`writer: ${line}`);
    }
  });
  const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  if (step.killAfterMs !== null) setTimeout(() => child.kill('SIGKILL'), step.killAfterMs).unref();
  return { child, acks, done };
}

class Sidecar {
  child!: ChildProcess;
  exited!: Promise<number | null>;
  /** Resolves once the shipper logged its start: its SIGTERM handler is installed. */
  ready!: Promise<void>;
  constructor(
    private readonly dir: string,
    private readonly url: string,
    private readonly tokenFile: string,
  ) {
    this.start();
  }
  start(): void {
    this.child = spawn(process.execPath, [BIN, 'ship', this.dir, '--to', this.url, '--source', 'host-a', '--token-file', this.tokenFile, '--poll', '100', '--backoff-min', '20', '--backoff-max', '400', '--batch-lines', '97', '--drain-ms', '1000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    let out = '';
    this.ready = new Promise((resolve) => {
      this.child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"shipper started"')) resolve();
      });
      void this.exited.then(() => resolve());
    });
  }
  async kill(signal: NodeJS.Signals): Promise<number | null> {
    // A SIGTERM before the handler exists ends the process by the signal (what systemd expects
    // too); the property is about SIGTERM once it runs.
    if (signal === 'SIGTERM') await this.ready;
    this.child.kill(signal);
    return this.exited;
  }
}

const hostLines = (dir: string) => fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').slice(0, -1);

async function scenario(steps: Step[]): Promise<void> {
  const t = tempDir('sealed-ledger-shipfuzz-');
  const dir = path.join(t.dir, 'ledger');
  const peer = await ProtocolPeer.start();
  const proxy = await FaultProxy.start({ port: peer.port });
  const tokenFile = path.join(t.dir, 'token');
  fs.writeFileSync(tokenFile, peer.token);
  await (await Ledger.open({ dir, create: true })).close();
  const sidecar = new Sidecar(dir, proxy.url, tokenFile);
  const acks: Writer['acks'] = [];
  let writer: Writer | undefined;
  let writers = 0;
  let shippedHigh = -1;
  let violation: string | undefined;
  // P1 and P3, sampled all along.
  const check = () => {
    try {
      const host = hostLines(dir);
      for (let i = 0; i < peer.lines.length; i++) {
        if (peer.lines[i] !== host[i]) violation ??= `P1: collector line ${i} is not the host's`;
      }
      const st = JSON.parse(fs.readFileSync(path.join(dir, 'ship-host-a.status.json'), 'utf8')) as { shippedThrough: number | null };
      if (st.shippedThrough !== null && st.shippedThrough > peer.lines.length - 1) violation ??= `P3: shipped-through ${st.shippedThrough} beyond the collector's ${peer.lines.length - 1}`;
      if (st.shippedThrough !== null) shippedHigh = Math.max(shippedHigh, st.shippedThrough);
    } catch {
      // the status file is replaced by rename; a missing one (not written yet) is no violation
    }
  };
  const sampler = setInterval(check, 100);
  try {
    for (const step of steps) {
      if (step.t === 'append') {
        if (writer) await writer.done;
        writer = startWriter(dir, step, writers++);
        const w = writer;
        void w.done.then(() => acks.push(...w.acks));
      } else if (step.t === 'killSidecar') {
        await sidecar.kill('SIGKILL');
        sidecar.start();
      } else if (step.t === 'termSidecar') {
        const code = await sidecar.kill('SIGTERM');
        if (code !== 0) violation ??= `sidecar exited ${code} on SIGTERM`;
        sidecar.start();
      } else if (step.t === 'fault') {
        proxy.set(step.mode);
        await new Promise((r) => setTimeout(r, step.ms));
        proxy.set({ kind: 'pass' });
      } else if (step.t === 'restartCollector') {
        await peer.restart(step.downMs);
      } else {
        await new Promise((r) => setTimeout(r, step.ms));
      }
    }
    if (writer) await writer.done;
    // Heal the folder as the next writer would (a killed writer may have left a torn tail).
    await (await Ledger.open({ dir })).close();
    proxy.set({ kind: 'pass' });
    const host = hostLines(dir);
    const deadline = Date.now() + 60_000;
    while (peer.lines.length < host.length && Date.now() < deadline && !violation) await new Promise((r) => setTimeout(r, 50));
    check();
    expect(violation).toBeUndefined();
    expect(peer.lines).toEqual(host); // P2 (all of the host's lines, acknowledged ones included)
    for (const a of acks) expect(peer.lines[a.seq], `acknowledged seq ${a.seq}`).toContain(`"id":"${a.id}"`);
    expect(peer.forks).toEqual([]);
    const ids = peer.lines.map((l) => (JSON.parse(l) as { id: string }).id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(await sidecar.kill('SIGTERM')).toBe(0);
  } finally {
    clearInterval(sampler);
    writer?.child.kill('SIGKILL');
    sidecar.child.kill('SIGKILL');
    await proxy.close();
    await peer.close();
    t.cleanup();
  }
}

beforeAll(ensureBuilt);
afterEach(() => undefined);

describe('ship fuzz (spec §20)', () => {
  it(`random appends, kills, faults and restarts (${RUNS} runs${SECONDS ? `, ${SECONDS} s` : ''})`, async () => {
    const params: fc.Parameters<[Step[]]> = { numRuns: SECONDS ? 1e9 : RUNS, endOnFailure: true };
    if (SECONDS) params.interruptAfterTimeLimit = SECONDS * 1000;
    if (env.SEALED_LEDGER_SHIP_FUZZ_SEED) params.seed = Number(env.SEALED_LEDGER_SHIP_FUZZ_SEED);
    if (env.SEALED_LEDGER_SHIP_FUZZ_PATH) params.path = env.SEALED_LEDGER_SHIP_FUZZ_PATH;
    let runs = 0;
    const details = await fc.check(fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: STEPS }), async (steps) => {
      runs++;
      await scenario(steps);
    }), params);
    console.log(`ship fuzz: ${runs} runs, seed ${details.seed}${details.failed ? `, path ${details.counterexamplePath}` : ''}`);
    if (details.failed) {
      throw new Error(`ship fuzz violated (seed ${details.seed}, path ${details.counterexamplePath}): ${fc.stringify(details.counterexample)}\n${String(details.errorInstance)}`);
    }
  }, SECONDS ? SECONDS * 1000 + 180_000 : Math.max(600_000, RUNS * 150_000));
});
