// Issue 15 acceptance, checkpoints on the way (spec §20.10), real processes on a real PostgreSQL
// collector serving the witness: checkpoints are cosigned while the sidecar ships and kept in
// witness.jsonl; `verify --witness-key` then catches a truncation, a rewritten history (the FORK
// acceptance test) and a deleted witness.jsonl; a collector SIGKILL and a lost witness.jsonl are
// resynchronised through the witness's 409.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateSigningKey, signingKeyFromSeed, writeSigningKeyFile } from '../../../src/crypto/signing-key.js';
import { readWitnessLog } from '../../../src/ledger/witness-log.js';
import { cosignatureVerifierKeyString } from '../../../src/merkle/cosignature.js';
import { ensureBuilt } from '../../cli/cli-harness.js';
import { tempDir } from '../../helpers.js';
import { appendInProcess, cleanupAll, cli, CollectorProcess, type Host, newHost, newPgDatabase, onCleanup, SidecarProcess, sourceHead, startWriter, until } from './harness.js';

beforeAll(ensureBuilt);
vi.setConfig({ testTimeout: 300_000 });
afterEach(cleanupAll);

interface World {
  collector: CollectorProcess;
  db: string;
  host: Host;
  /** The host's checkpoint key file (its signing key, registered with the source). */
  keyFile: string;
  /** The witness's cosignature verifier key, as an operator publishes it. */
  witnessVkey: string;
}

async function world(name: string): Promise<World> {
  const t = tempDir('sealed-ledger-e2e-witness-');
  onCleanup(t.cleanup);
  const witnessKey = generateSigningKey({ name: 'witness.example/e2e' });
  const witnessFile = path.join(t.dir, 'witness.key');
  writeSigningKeyFile(witnessKey, witnessFile);
  const db = await newPgDatabase(`ship_${name.replace(/-/g, '_')}`);
  const collector = await CollectorProcess.start(db, ['--witness-key', witnessFile]);
  const host = await newHost(db, name, 7);
  const keyFile = path.join(t.dir, 'checkpoint.key');
  writeSigningKeyFile(signingKeyFromSeed(Buffer.from(host.seed, 'hex'), host.keyName), keyFile);
  return { collector, db, host, keyFile, witnessVkey: cosignatureVerifierKeyString(witnessKey.name, witnessKey.publicKey) };
}

function sidecar(w: World, every = 100): SidecarProcess {
  return new SidecarProcess(w.host, w.collector.url, ['--checkpoint-key', w.keyFile, '--checkpoint-every', String(every), '--checkpoint-interval', '500']);
}

const witnessedSizes = (s: SidecarProcess) => s.logs.filter((l) => l.msg === 'checkpoint witnessed').map((l) => l.size as number);

function verify(w: World, withKey = true): { status: number | null; out: string; json: { witness: { size: number | null; witness: string | null; verified: boolean }; problems: { code: string }[] } } {
  const args = ['verify', w.host.dir, ...(withKey ? ['--witness-key', w.witnessVkey] : [])];
  const text = cli(args);
  const json = cli([...args, '--json']);
  expect(json.status).toBe(text.status);
  return { status: text.status, out: text.stdout + text.stderr, json: JSON.parse(json.stdout) };
}

/** Cut events.jsonl to its first `events` lines; ledger.db (which would remember) goes too. */
function truncateHost(host: Host, events: number): void {
  const file = path.join(host.dir, 'events.jsonl');
  const lines = fs.readFileSync(file, 'utf8').split('\n').slice(0, events);
  fs.writeFileSync(file, lines.map((l) => l + '\n').join(''));
  for (const f of ['ledger.db', 'ledger.db-wal', 'ledger.db-shm', 'checkpoints.jsonl']) fs.rmSync(path.join(host.dir, f), { force: true });
}

describe('checkpoints witnessed on the way, end to end', () => {
  it('witnessed while shipping; verify --witness-key passes, then fails on a truncation and on a deleted witness.jsonl', async () => {
    const w = await world('host-wit');
    await appendInProcess(w.host, 300);
    const s = sidecar(w);
    await until(() => witnessedSizes(s).includes(300), 60_000, 'witnessed 300');
    // More events from a writer process while the sidecar ships: witnessed again on the way.
    const writer = startWriter(w.host, 200);
    await writer.done;
    await until(() => witnessedSizes(s).includes(500), 60_000, 'witnessed 500');
    expect(await s.kill('SIGTERM')).toBe(0);
    expect((await sourceHead(w.collector.url, w.host)).next).toBe(500);
    const st = cli(['ship', w.host.dir, '--status']);
    expect(st.status).toBe(3); // not running any more
    expect(st.stdout).toContain('witness running, witnessed up to size 500');
    const res = await fetch(`${w.collector.url}/v1/sources/${w.host.name}/checkpoint`);
    expect(await res.text()).toMatch(/\n500\n/);
    expect(readWitnessLog(w.host.dir).at(-1)!.record).toMatchObject({ size: 500, witness: 'witness.example/e2e' });

    const ok = verify(w);
    expect(ok.status, ok.out).toBe(0);
    expect(ok.out).toContain('witnessed by witness.example/e2e up to size 500 (cosignature verified with --witness-key)');
    expect(ok.json.witness).toMatchObject({ size: 500, witness: 'witness.example/e2e', verified: true });

    // witness.jsonl deleted by whoever can write the folder: not a pass with --witness-key.
    const file = path.join(w.host.dir, 'witness.jsonl');
    fs.renameSync(file, `${file}.aside`);
    const missing = verify(w);
    expect(missing.status).toBe(2);
    expect(missing.json.problems.map((p) => p.code)).toEqual(['WITNESS_MISSING']);
    const unkeyed = verify(w, false);
    expect(unkeyed.status).toBe(0);
    expect(unkeyed.out).toContain('not witnessed');
    fs.renameSync(`${file}.aside`, file);

    // Truncated below the witnessed size: undetectable from the folder alone, caught here.
    truncateHost(w.host, 450);
    const cut = verify(w);
    expect(cut.status, cut.out).toBe(2);
    expect(cut.json.problems.map((p) => p.code)).toContain('WITNESS_INCONSISTENT');
    expect(cut.out).toMatch(/covers 500 events, events.jsonl holds 450/);
    // And with witness.jsonl gone as well, the collector's latest cosigned checkpoint still shows it.
    fs.rmSync(file);
    const fetched = cli(['verify', w.host.dir, '--witness-key', w.witnessVkey, '--witness-url', w.collector.url, '--source', w.host.name, '--json']);
    expect(fetched.status).toBe(2);
    expect((JSON.parse(fetched.stdout) as { problems: { code: string }[] }).problems.map((p) => p.code)).toEqual(['WITNESS_INCONSISTENT']);
  });

  it('a host edits an already shipped line: the shipper halts with FORK, the collector keeps the evidence, verify --witness-key on the host fails', async () => {
    const w = await world('host-witfork');
    await appendInProcess(w.host, 200);
    const first = sidecar(w);
    await until(() => witnessedSizes(first).includes(200), 60_000, 'witnessed 200');
    expect(await first.kill('SIGTERM')).toBe(0);
    expect(verify(w).status).toBe(0);
    // The intruder rewrites history from seq 150 with the host's own key (re-sealed, re-signed).
    truncateHost(w.host, 150);
    await appendInProcess(w.host, 55);
    const second = sidecar(w);
    await until(() => second.logs.some((l) => l.state === 'halted'), 60_000, 'halted');
    expect(second.logs.find((l) => l.state === 'halted')).toMatchObject({ level: 'error', error: { code: 'FORK', seq: 199, status: 409 } });
    expect((await sourceHead(w.collector.url, w.host)).forks).toBeGreaterThanOrEqual(1);
    const cv = cli(['collector', 'verify', '--db', w.db, '--source', w.host.name]);
    expect(cv.status).toBe(2);
    expect(cv.stdout + cv.stderr).toMatch(/FORK/);
    // Nothing of the rewritten history was cosigned: the witness still holds size 200.
    expect(await (await fetch(`${w.collector.url}/v1/sources/${w.host.name}/checkpoint`)).text()).toMatch(/\n200\n/);
    expect(await second.kill('SIGTERM')).toBe(0);
    const v = verify(w);
    expect(v.status, v.out).toBe(2);
    expect(v.json.problems.map((p) => p.code)).toEqual(['WITNESS_INCONSISTENT']);
    expect(v.out).toMatch(/witnessed by witness\.example\/e2e .*: history was rewritten/);
  });

  it('collector SIGKILLed and restarted, then witness.jsonl lost: the witness state survives and the 409 resyncs the shipper', async () => {
    const w = await world('host-witsync');
    await appendInProcess(w.host, 100);
    const s = sidecar(w, 50);
    await until(() => witnessedSizes(s).includes(100), 60_000, 'witnessed 100');
    expect(await w.collector.kill('SIGKILL')).toBe(null);
    await appendInProcess(w.host, 100);
    await new Promise((r) => setTimeout(r, 1000));
    await w.collector.start();
    await until(() => witnessedSizes(s).includes(200), 60_000, 'witnessed 200 after the restart');
    expect(await s.kill('SIGTERM')).toBe(0);
    // The host loses witness.jsonl; a new sidecar starts from `old 0` and is told 200.
    fs.rmSync(path.join(w.host.dir, 'witness.jsonl'));
    await appendInProcess(w.host, 60);
    const again = sidecar(w, 50);
    await until(() => witnessedSizes(again).includes(260), 60_000, 'witnessed 260 after the resync');
    expect(again.logs.find((l) => l.msg === 'witness holds another size; resyncing')).toMatchObject({ sent: 0, known: 200 });
    expect(await again.kill('SIGTERM')).toBe(0);
    // The first checkpoint after the restart is the collector's size: cosigned again, then 260.
    expect(readWitnessLog(w.host.dir).map((l) => l.record!.size)).toEqual([200, 260]);
    expect(verify(w).status).toBe(0);
  });
});
