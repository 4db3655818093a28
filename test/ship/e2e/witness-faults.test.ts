// Witness answers end to end (spec §20.10), real processes on a real PostgreSQL collector:
//  - a consistency proof corrupted on the way (a TCP proxy that flips one base64 character of
//    the proof in the request): the witness answers 422, the sidecar halts WITNESS_REFUSED
//    while events keep flowing, `ship --status` shows it, and it resumes by itself (§20.10: retry
//    every haltedRetryMs after re-hashing) once requests arrive intact;
//  - a second collector process with another witness key behind the same URL: with
//    `--witness-key` the sidecar halts WITNESS_UNTRUSTED and stores nothing, and resumes when the
//    trusted witness answers again.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateSigningKey, signingKeyFromSeed, writeSigningKeyFile } from '../../../src/crypto/signing-key.js';
import { readWitnessLog } from '../../../src/ledger/witness-log.js';
import { cosignatureVerifierKeyString } from '../../../src/merkle/cosignature.js';
import { ensureBuilt } from '../../cli/cli-harness.js';
import { FaultProxy } from '../../support/fault-proxy.js';
import { tempDir } from '../../helpers.js';
import { appendInProcess, assertCollectorHolds, cleanupAll, cli, CollectorProcess, newHost, newPgDatabase, onCleanup, SidecarProcess, sourceHead, until } from './harness.js';

beforeAll(ensureBuilt);
vi.setConfig({ testTimeout: 300_000 });
afterEach(cleanupAll);

/** A TCP proxy that, while `corrupt` is on, changes the first character of the first proof line of an add-checkpoint body. */
async function proofCorruptingProxy(port: number): Promise<{ url: string; corrupt: boolean; corrupted: number }> {
  const state = { url: '', corrupt: false, corrupted: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('error', () => undefined);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      if (state.corrupt) {
        // The body starts "old N\n" then the proof, one base64 hash a line; same length after the swap.
        const m = /old [1-9][0-9]*\n([A-Za-z0-9+/])/.exec(chunk.toString('latin1'));
        if (m) {
          const at = m.index + m[0].length - 1;
          chunk = Buffer.from(chunk);
          chunk[at] = chunk[at] === 0x41 ? 0x42 : 0x41; // 'A' <-> 'B': still base64, another hash
          state.corrupted++;
        }
      }
      upstream.write(chunk);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onCleanup(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return state;
}

function witnessKeyFile(dir: string, name: string): { file: string; vkey: string } {
  const k = generateSigningKey({ name });
  const file = path.join(dir, `${name.replace(/\W/g, '_')}.key`);
  writeSigningKeyFile(k, file);
  return { file, vkey: cosignatureVerifierKeyString(k.name, k.publicKey) };
}

const witnessed = (s: SidecarProcess) => s.logs.filter((l) => l.msg === 'checkpoint witnessed').map((l) => l.size as number);
const witnessState = (s: SidecarProcess) => (s.status() as { witness?: { state: string; witnessedSize: number; lastError: { code: string } | null } } | undefined)?.witness;

describe('witness answers end to end (real collector, PostgreSQL)', () => {
  it('422 from the witness (a corrupted consistency proof): halted WITNESS_REFUSED, events keep flowing, status shows it, resumes by itself', async () => {
    const t = tempDir('sealed-ledger-e2e-422-');
    onCleanup(t.cleanup);
    const wk = witnessKeyFile(t.dir, 'witness.example/e2e');
    const db = await newPgDatabase('ship_w422');
    const collector = await CollectorProcess.start(db, ['--witness-key', wk.file]);
    const host = await newHost(db, 'host-w422', 11);
    const keyFile = path.join(t.dir, 'checkpoint.key');
    writeSigningKeyFile(signingKeyFromSeed(Buffer.from(host.seed, 'hex'), host.keyName), keyFile);
    const proxy = await proofCorruptingProxy(collector.port);
    await appendInProcess(host, 50);
    const s = new SidecarProcess(host, proxy.url, ['--checkpoint-key', keyFile, '--checkpoint-every', '50', '--checkpoint-interval', '600000', '--witness-key', wk.vkey]);
    await until(() => witnessed(s).includes(50), 60_000, 'witnessed 50');
    // From here every proof (from size 50) arrives corrupted.
    proxy.corrupt = true;
    await appendInProcess(host, 50);
    await until(() => witnessState(s)?.state === 'halted', 60_000, 'witness halted');
    expect(proxy.corrupted).toBeGreaterThanOrEqual(1);
    const halted = s.logs.find((l) => l.msg === 'witness state' && l.state === 'halted') as { level: string; error: { code: string; status: number; seq: number; reason: string } };
    expect(halted).toMatchObject({ level: 'error', error: { code: 'WITNESS_REFUSED', status: 422, seq: 100 } });
    expect(halted.error.reason).toMatch(/consistency proof does not verify/);
    // Events are not held back: 30 more are shipped while the witness stays halted.
    await appendInProcess(host, 30);
    await until(async () => (await sourceHead(collector.url, host)).next === 130, 60_000, 'events shipped while the witness is halted');
    await until(() => s.logs.filter((l) => l.msg === 'witness still halted').length >= 1, 60_000, 'retried, logged at error');
    const st = cli(['ship', host.dir, '--status']);
    expect(st.status).toBe(0); // events running
    expect(st.stdout).toMatch(/witness halted, witnessed up to size 50 \(WITNESS_REFUSED: /);
    expect(readWitnessLog(host.dir).map((l) => l.record!.size)).toEqual([50]);
    // The witness kept no fork evidence: a bad proof alone proves nothing against the log.
    expect((await sourceHead(collector.url, host)).forks).toBe(0);
    // Intact requests again: the next retry (every --halted-retry, 500 ms here) is cosigned.
    proxy.corrupt = false;
    await until(() => witnessState(s)?.state === 'running' && (witnessState(s)?.witnessedSize ?? 0) >= 100, 60_000, 'witness resumed');
    expect(s.logs.find((l) => l.msg === 'witness state' && l.state === 'running')).toBeDefined();
    expect(readWitnessLog(host.dir).map((l) => l.record!.size)).toEqual([50, 100]);
    expect(await s.kill('SIGTERM')).toBe(0);
    assertCollectorHolds(db, host);
    const v = cli(['verify', host.dir, '--witness-key', wk.vkey, '--witness-url', collector.url, '--source', host.name]);
    expect(v.status, v.stdout + v.stderr).toBe(0);
  });

  it('another collector with another witness key behind the same URL: with --witness-key, WITNESS_UNTRUSTED and nothing stored; resumes with the trusted witness', async () => {
    const t = tempDir('sealed-ledger-e2e-untrusted-');
    onCleanup(t.cleanup);
    const trusted = witnessKeyFile(t.dir, 'witness.example/a');
    const other = witnessKeyFile(t.dir, 'witness.example/b');
    const db = await newPgDatabase('ship_wkey');
    const a = await CollectorProcess.start(db, ['--witness-key', trusted.file]);
    const b = await CollectorProcess.start(db, ['--witness-key', other.file]);
    const host = await newHost(db, 'host-wkey', 12);
    const keyFile = path.join(t.dir, 'checkpoint.key');
    writeSigningKeyFile(signingKeyFromSeed(Buffer.from(host.seed, 'hex'), host.keyName), keyFile);
    const proxy = await FaultProxy.start({ port: a.port });
    onCleanup(() => proxy.close());
    await appendInProcess(host, 40);
    const s = new SidecarProcess(host, proxy.url, ['--checkpoint-key', keyFile, '--checkpoint-every', '40', '--checkpoint-interval', '600000', '--witness-key', trusted.vkey]);
    await until(() => witnessed(s).includes(40), 60_000, 'witnessed 40 by the trusted witness');
    // The URL now reaches collector b (same database, another witness key).
    proxy.retarget(b.port);
    proxy.cutAll();
    await appendInProcess(host, 40);
    await until(() => witnessState(s)?.state === 'halted', 60_000, 'witness halted');
    expect(witnessState(s)?.lastError).toMatchObject({ code: 'WITNESS_UNTRUSTED', seq: 80 });
    await until(async () => (await sourceHead(a.url, host)).next === 80, 60_000, 'events shipped through b');
    expect(readWitnessLog(host.dir).map((l) => l.record!.witness)).toEqual(['witness.example/a']);
    const st = cli(['ship', host.dir, '--status']);
    expect(st.stdout).toMatch(/witness halted, .*\(WITNESS_UNTRUSTED: /);
    // Back to the trusted witness: its state (written by b in the shared database) says 80; the
    // 409 resyncs, and the same checkpoint is cosigned by a and stored.
    proxy.retarget(a.port);
    proxy.cutAll();
    await until(() => witnessState(s)?.state === 'running' && readWitnessLog(host.dir).length === 2, 60_000, 'witnessed by a again');
    expect(readWitnessLog(host.dir).map((l) => [l.record!.size, l.record!.witness])).toEqual([[40, 'witness.example/a'], [80, 'witness.example/a']]);
    expect(await s.kill('SIGTERM')).toBe(0);
    const v = cli(['verify', host.dir, '--witness-key', trusted.vkey]);
    expect(v.status, v.stdout + v.stderr).toBe(0);
    expect(fs.existsSync(path.join(host.dir, 'witness.jsonl'))).toBe(true);
  });

  it('verify --witness-url over HTTPS with --ca (a self-signed collector certificate made here): the fetched checkpoint is checked; without --ca the fetch is refused', async () => {
    const t = tempDir('sealed-ledger-e2e-tls-');
    onCleanup(t.cleanup);
    let cert = path.join(t.dir, 'cert.pem');
    let key = path.join(t.dir, 'key.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
    if ((made.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      // No openssl on this machine: the collector tests' self-signed pair (SAN IP 127.0.0.1) does the same.
      console.log('openssl not found: using test/collector/fixtures/localhost.*.pem');
      cert = fileURLToPath(new URL('../../collector/fixtures/localhost.cert.pem', import.meta.url));
      key = fileURLToPath(new URL('../../collector/fixtures/localhost.key.pem', import.meta.url));
    } else expect(made.status, `openssl: ${made.error ?? made.stderr}`).toBe(0);
    const wk = witnessKeyFile(t.dir, 'witness.example/tls');
    const db = await newPgDatabase('ship_wtls');
    const collector = await CollectorProcess.start(db, ['--witness-key', wk.file, '--tls-cert', cert, '--tls-key', key]);
    expect(collector.url).toMatch(/^https:/);
    const host = await newHost(db, 'host-wtls', 13);
    const keyFile = path.join(t.dir, 'checkpoint.key');
    writeSigningKeyFile(signingKeyFromSeed(Buffer.from(host.seed, 'hex'), host.keyName), keyFile);
    await appendInProcess(host, 40);
    const s = new SidecarProcess(host, collector.url, ['--ca', cert, '--checkpoint-key', keyFile, '--checkpoint-every', '40', '--witness-key', wk.vkey]);
    await until(() => witnessed(s).includes(40), 60_000, 'witnessed 40 over https');
    expect(await s.kill('SIGTERM')).toBe(0);
    const args = ['verify', host.dir, '--witness-key', wk.vkey, '--witness-url', collector.url, '--source', host.name];
    const ok = cli([...args, '--ca', cert, '--json']);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ witness: { size: 40, witness: 'witness.example/tls', verified: true } });
    // Without --ca the self-signed certificate is not trusted: a clear error, not a pass.
    const untrusted = cli(args);
    expect(untrusted.status).toBe(75);
    expect(untrusted.stderr).toMatch(/UNAVAILABLE.*cannot fetch the witnessed checkpoint from https:\/\/127\.0\.0\.1:\d+\/v1\/sources\/host-wtls\/checkpoint: (SELF_SIGNED|DEPTH_ZERO_SELF_SIGNED)/);
    // The fetched checkpoint is what catches a cut host whose witness.jsonl is gone too.
    const file = path.join(host.dir, 'events.jsonl');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').split('\n').slice(0, 30).map((l) => l + '\n').join(''));
    for (const f of ['ledger.db', 'ledger.db-wal', 'ledger.db-shm', 'witness.jsonl']) fs.rmSync(path.join(host.dir, f), { force: true });
    const cut = cli([...args, '--ca', cert, '--json']);
    expect(cut.status).toBe(2);
    expect((JSON.parse(cut.stdout) as { problems: { code: string }[] }).problems.map((p) => p.code)).toEqual(['WITNESS_INCONSISTENT']);
    // --ca is refused without --witness-url, and an unreadable one is a bad option.
    expect(cli(['verify', host.dir, '--ca', cert]).status).toBe(64);
    const missing = cli([...args, '--ca', path.join(t.dir, 'nope.pem')]);
    expect(missing.status).toBe(64);
    expect(missing.stderr).toMatch(/nope\.pem: cannot read the CA file: ENOENT/);
  });
});
