// Issue 15 acceptance: a host that edits an already shipped line halts with FORK and the collector
// keeps the evidence; a 422 poison event (a key the collector was not told about after a
// rotation) halts, is retried, and resumes by itself once the key is registered — nothing skipped.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureBuilt } from '../../cli/cli-harness.js';
import { appendInProcess, assertCollectorHolds, cleanupAll, cli, CollectorProcess, HOST_SEED, newHost, newPgDatabase, SidecarProcess, sourceHead, startWriter, until } from './harness.js';
import { signingKeyFromSeed } from '../../../src/crypto/signing-key.js';
import { Keyring } from '../../../src/crypto/keyring.js';

beforeAll(ensureBuilt);
// Real processes on a shared machine: generous bounds; each wait inside names what it waited for.
vi.setConfig({ testTimeout: 300_000 });
afterEach(cleanupAll);

describe('FORK and poison end to end', () => {
  it('a host edits an already shipped line: the shipper halts with FORK, the collector keeps the evidence', async () => {
    const db = await newPgDatabase('ship_fork');
    const collector = await CollectorProcess.start(db);
    const host = await newHost(db, 'host-fork');
    await appendInProcess(host, 200);
    const first = new SidecarProcess(host, collector.url);
    await until(async () => (await sourceHead(collector.url, host)).next === 200, 60_000, 'shipped');
    expect(await first.kill('SIGTERM')).toBe(0);
    // 1. An in-place edit of the last shipped line: the resent overlap line no longer verifies.
    const file = path.join(host.dir, 'events.jsonl');
    const original = fs.readFileSync(file, 'utf8');
    const lines = original.split('\n');
    lines[199] = lines[199]!.replace('"i":199', '"i":919');
    fs.writeFileSync(file, lines.join('\n'));
    const edited = new SidecarProcess(host, collector.url);
    await until(() => edited.logs.some((l) => l.state === 'halted'), 30_000, 'halted on the edit');
    expect(edited.logs.find((l) => l.state === 'halted')).toMatchObject({ level: 'error', error: { code: 'SEAL_MISMATCH', seq: 199, status: 422 } });
    expect(await edited.kill('SIGTERM')).toBe(0);
    // 2. A rewrite that re-seals and re-signs (an intruder with the host's key): seq 199 becomes a
    // different valid event. The collector holds the original: FORK, with evidence kept.
    fs.writeFileSync(file, original.split('\n').slice(0, 199).map((l) => l + '\n').join(''));
    fs.rmSync(path.join(host.dir, 'ledger.db'));
    await appendInProcess(host, 5);
    const second = new SidecarProcess(host, collector.url);
    await until(() => second.logs.some((l) => l.state === 'halted'), 30_000, 'halted');
    const halted = second.logs.find((l) => l.state === 'halted')!;
    expect(halted).toMatchObject({ level: 'error', error: { code: 'FORK', seq: 199, status: 409 } });
    // The log line comes before the status file is rewritten (a state change logs, then records).
    await until(() => second.status()?.state === 'halted', 10_000, 'the status file records the halt');
    expect(second.status()).toMatchObject({ state: 'halted', lastError: { code: 'FORK', seq: 199 } });
    expect((await sourceHead(collector.url, host)).forks).toBeGreaterThanOrEqual(1);
    const v = cli(['collector', 'verify', '--db', db, '--source', host.name]);
    expect(v.status).toBe(2); // the recorded fork is reported
    expect(v.stdout + v.stderr).toMatch(/FORK/);
    expect(await second.kill('SIGTERM')).toBe(0);
  });

  it('422 poison after an unregistered key rotation: halted, retried, resumes once the key is registered', async () => {
    const db = await newPgDatabase('ship_poison');
    const collector = await CollectorProcess.start(db);
    const host = await newHost(db, 'host-poison', 40);
    await appendInProcess(host, 100);
    const sidecar = new SidecarProcess(host, collector.url);
    await until(async () => (await sourceHead(collector.url, host)).next === 100, 60_000, 'shipped');
    // The host rotates to a new key; the collector is not told.
    const newSeed = HOST_SEED(41);
    const newKey = signingKeyFromSeed(Buffer.from(newSeed, 'hex'), 'host-poison-key-2');
    const keyringPath = path.join(host.dir, 'keyring.json');
    const keyring = Keyring.load(keyringPath);
    keyring.add({ kid: newKey.kid, name: newKey.name, publicKey: newKey.publicKey });
    keyring.save(keyringPath);
    const writer = startWriter(host, 50, 'batch', newSeed, newKey.name);
    await writer.done;
    await until(() => sidecar.logs.some((l) => l.state === 'halted'), 30_000, 'halted');
    expect(sidecar.logs.find((l) => l.state === 'halted')).toMatchObject({ level: 'error', error: { status: 422, seq: 100 } });
    // Retried slowly, logged at error each time, never past seq 100.
    await until(() => sidecar.logs.filter((l) => l.msg === 'still halted').length >= 2, 30_000, 'retries');
    expect((await sourceHead(collector.url, host)).next).toBe(100);
    const r = cli(['collector', 'sources', 'add-key', host.name, '--db', db, '--keys', host.dir]);
    expect(r.status, r.stderr).toBe(0);
    await until(async () => (await sourceHead(collector.url, host)).next === 150, 60_000, 'resumed and shipped');
    await until(() => sidecar.logs.some((l) => l.state === 'running' && l.msg === 'state'), 10_000, 'resumed');
    expect(await sidecar.kill('SIGTERM')).toBe(0);
    assertCollectorHolds(db, host);
  });
});
