// spec §20.8: the sidecar is a real process reading another writer's folder; SIGTERM drains
// within the bound and exits 0; SIGKILL loses nothing; `ship --status` reports the lag.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, writeSigningKeyFile } from '../../src/crypto/signing-key.js';
import { cosignatureVerifierKeyString } from '../../src/merkle/cosignature.js';
import { BIN, ensureBuilt } from '../cli/cli-harness.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { ProtocolPeer } from '../support/protocol-peer.js';
import { appendN, cleanupShipTests, jsonlLines, ledgerWith, onCleanup, until } from './ship-helpers.js';

beforeAll(ensureBuilt);
afterEach(cleanupShipTests);

interface Sidecar {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
}

function sidecar(dir: string, url: string, token: string, extra: string[] = []): Sidecar {
  const tokenFile = path.join(path.dirname(dir), 'token');
  fs.writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  const child = spawn(process.execPath, [BIN, 'ship', dir, '--to', url, '--source', 'host-a', '--token-file', tokenFile, '--poll', '100', '--backoff-min', '50', '--backoff-max', '300', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      logs.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null && stderr) console.error(stderr);
  });
  return { child, logs, exited };
}

function status(dir: string, ...extra: string[]) {
  return spawnSync(process.execPath, [BIN, 'ship', dir, '--status', ...extra], { encoding: 'utf8' });
}

describe('sealed-ledger ship (sidecar)', () => {
  it('ships as the writer appends, logs JSON per state change, SIGTERM drains and exits 0', async () => {
    const { ledger, dir } = await ledgerWith(100);
    const p = await ProtocolPeer.start();
    onCleanup(() => p.close());
    const s = sidecar(dir, p.url, p.token);
    await until(() => p.lines.length === 100, 20_000, 'first 100');
    await appendN(ledger, 50);
    await until(() => p.lines.length === 150, 20_000, '150');
    expect(p.lines).toEqual(jsonlLines(dir));
    // The status file says so, and --status prints it.
    await until(() => JSON.parse(fs.readFileSync(path.join(dir, 'ship-host-a.status.json'), 'utf8')).shippedThrough === 149, 5000, 'status file');
    const st = status(dir, '--json');
    expect(st.status).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ state: 'running', shippedThrough: 149, head: 149, lagEvents: 0 });
    expect(status(dir).stdout).toMatch(/^host-a -> .*: running; shipped through 149 of 149; lag 0 events/);
    s.child.kill('SIGTERM');
    const t0 = Date.now();
    expect(await s.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(s.logs.some((l) => l.msg === 'shipper stopped')).toBe(true);
    for (const l of s.logs) expect(typeof l.level).toBe('string');
    // ledger.db is never written by the sidecar: the writer's lock was never contended.
    const after = status(dir, '--json');
    expect(after.status).toBe(3);
    expect(JSON.parse(after.stdout).state).toBe('stopped');
  });

  it('SIGTERM against a silent collector still exits 0 within the drain bound', async () => {
    const { dir } = await ledgerWith(20);
    const p = await ProtocolPeer.start();
    onCleanup(() => p.close());
    const proxy = await FaultProxy.start({ port: p.port });
    onCleanup(() => proxy.close());
    proxy.set({ kind: 'blackhole' });
    const s = sidecar(dir, proxy.url, p.token, ['--drain-ms', '500']);
    await until(() => s.logs.some((l) => l.msg === 'shipper started'), 10_000, 'start');
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('SIGKILL mid-run and restart: nothing lost, nothing stored twice', async () => {
    const { ledger, dir } = await ledgerWith(3000);
    const p = await ProtocolPeer.start();
    onCleanup(() => p.close());
    const a = sidecar(dir, p.url, p.token, ['--batch-lines', '100']);
    await until(() => p.lines.length >= 300, 20_000, 'some shipped');
    a.child.kill('SIGKILL');
    await a.exited;
    await appendN(ledger, 100);
    fs.rmSync(path.join(dir, 'ship-host-a.status.json'), { force: true }); // losing the cursor changes nothing
    const b = sidecar(dir, p.url, p.token, ['--batch-lines', '100']);
    await until(() => p.lines.length === 3100, 30_000, 'all shipped');
    expect(p.lines).toEqual(jsonlLines(dir));
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  });

  it('usage errors and a missing folder have their exit codes', () => {
    const r = spawnSync(process.execPath, [BIN, 'ship', '/nonexistent/ledger', '--to', 'http://127.0.0.1:1', '--source', 'a', '--token-file', '/nonexistent/t'], { encoding: 'utf8' });
    expect(r.status).toBe(66);
    const t = spawnSync(process.execPath, [BIN, 'ship', '.', '--status'], { encoding: 'utf8' });
    expect(t.status).toBe(66);
  });

  it('--witness-key: not a key nor a readable file, or without --checkpoint-key, is a bad option (64) before anything runs', async () => {
    const { dir } = await ledgerWith(1);
    const tokenFile = path.join(path.dirname(dir), 'token');
    fs.writeFileSync(tokenFile, 'tok\n');
    const base = [BIN, 'ship', dir, '--to', 'http://127.0.0.1:1', '--source', 'a', '--token-file', tokenFile];
    const keyFile = path.join(path.dirname(dir), 'checkpoint.key');
    writeSigningKeyFile(generateSigningKey({ name: 'host-a' }), keyFile);
    const notKey = spawnSync(process.execPath, [...base, '--checkpoint-key', keyFile, '--witness-key', 'not-a-key'], { encoding: 'utf8' });
    expect(notKey.status).toBe(64);
    expect(notKey.stderr).toMatch(/--witness-key not-a-key: not a witness verifier key, and not a readable file \(ENOENT\)/);
    const w = generateSigningKey({ name: 'witness.example/w' });
    const alone = spawnSync(process.execPath, [...base, '--witness-key', cosignatureVerifierKeyString(w.name, w.publicKey)], { encoding: 'utf8' });
    expect(alone.status).toBe(64);
    expect(alone.stderr).toMatch(/--witness-key needs --checkpoint-key/);
  });
});
