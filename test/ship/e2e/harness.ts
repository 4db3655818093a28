/**
 * End-to-end harness for the shipping acceptance tests (issue 15): real processes only — the
 * collector (`sealed-ledger collector`, PostgreSQL), the sidecar shipper (`sealed-ledger ship`),
 * writer processes (fuzz/kill/writer.mjs) — killed with real signals, with the fault proxy on the
 * path. PostgreSQL comes from the collector's test support (a throwaway cluster per run, or
 * SEALED_LEDGER_TEST_PG_URL); without it these tests fail loudly, never skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Agent, request } from 'undici';
import { inject } from 'vitest';
import { signingKeyFromSeed } from '../../../src/crypto/signing-key.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import { BIN, ROOT } from '../../cli/cli-harness.js';
import { tempDir } from '../../helpers.js';

const cleanups: (() => unknown)[] = [];
export function onCleanup(f: () => unknown): void {
  cleanups.push(f);
}
export async function cleanupAll(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c();
}

/** A fresh PostgreSQL database URL from the collector's test support. */
export async function newPgDatabase(prefix: string): Promise<string> {
  // Loaded at run time: the module comes with the collector (issue 14).
  const modulePath = '../../support/postgres.js';
  let pg: { createDatabase(adminUrl: string, prefix?: string): Promise<string>; PG_URL_ENV: string };
  try {
    pg = (await import(modulePath)) as typeof pg;
  } catch (e) {
    throw new Error(`the collector's PostgreSQL test support (test/support/postgres.ts, issue 14) is missing: ${String(e)}`);
  }
  const admin = process.env[pg.PG_URL_ENV] ?? ((inject as (key: string) => unknown)('pgUrl') as string | undefined);
  if (!admin) throw new Error('no PostgreSQL: the vitest globalSetup (test/support/pg-global-setup.ts) provided no pgUrl and SEALED_LEDGER_TEST_PG_URL is unset');
  return pg.createDatabase(admin, prefix);
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export function cli(args: string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A collector process on a fixed loopback port, restartable on the same port. */
export class CollectorProcess {
  child: ChildProcess | undefined;
  exited: Promise<number | null> = Promise.resolve(null);
  private stderr = '';

  constructor(
    readonly db: string,
    readonly port: number,
    readonly extra: string[] = [],
  ) {}

  /** `extra`: more collector flags, e.g. ['--witness-key', file]. */
  static async start(db: string, extra: string[] = []): Promise<CollectorProcess> {
    const c = new CollectorProcess(db, await freePort(), extra);
    await c.start();
    onCleanup(() => c.kill('SIGKILL'));
    return c;
  }

  /** With --tls-cert (a self-signed certificate): https, trusted through it. */
  get url(): string {
    return `${this.tlsCert() ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  private tlsCert(): Buffer | undefined {
    const i = this.extra.indexOf('--tls-cert');
    return i === -1 ? undefined : fs.readFileSync(this.extra[i + 1]!);
  }

  async start(): Promise<void> {
    this.stderr = '';
    const child = spawn(process.execPath, [BIN, 'collector', '--db', this.db, '--listen', `127.0.0.1:${this.port}`, '--rate', '0', '--log-level', 'warn', '--shutdown-timeout', '2000', ...this.extra], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    const ca = this.tlsCert();
    const agent = new Agent(ca ? { connect: { ca } } : {});
    onCleanup(() => agent.destroy());
    for (;;) {
      if (child.exitCode !== null) throw new Error(`collector exited ${child.exitCode}: ${this.stderr}`);
      try {
        const res = await request(`${this.url}/readyz`, { dispatcher: agent });
        await res.body.dump();
        if (res.statusCode === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`collector not ready after 30 s: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async kill(signal: NodeJS.Signals): Promise<number | null> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

export const HOST_SEED = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

/** A host ledger folder with a signing key in its keyring, registered at the collector. */
export interface Host {
  name: string;
  dir: string;
  seed: string;
  keyName: string;
  token: string;
  tokenFile: string;
}

export async function newHost(db: string, name: string, n = 1): Promise<Host> {
  const t = tempDir('sealed-ledger-e2e-');
  onCleanup(t.cleanup);
  const dir = path.join(t.dir, name);
  const seed = HOST_SEED(n);
  const keyName = `${name}-key`;
  const ledger = await Ledger.open({ dir, create: true, signer: signingKeyFromSeed(Buffer.from(seed, 'hex'), keyName) });
  await ledger.close();
  const r = cli(['collector', 'sources', 'add', name, '--db', db, '--keys', dir, '--json']);
  if (r.status !== 0) throw new Error(`collector sources add failed (${r.status}): ${r.stderr}`);
  const token = (JSON.parse(r.stdout) as { token: string }).token;
  const tokenFile = path.join(t.dir, `${name}.token`);
  fs.writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  return { name, dir, seed, keyName, token, tokenFile };
}

/** Appends `count` signed events in this process. */
export async function appendInProcess(host: Host, count: number, batch = 200): Promise<void> {
  const ledger = await Ledger.open({ dir: host.dir, signer: signingKeyFromSeed(Buffer.from(host.seed, 'hex'), host.keyName) });
  try {
    for (let i = 0; i < count; i += batch) {
      const k = Math.min(batch, count - i);
      await ledger.appendBatch(Array.from({ length: k }, (_, j) => ({ kind: 'e2e.event', actor: host.name, payload: { i: i + j } })));
    }
  } finally {
    await ledger.close();
  }
}

export interface WriterProcess {
  child: ChildProcess;
  acks: { seq: number; id: string }[];
  done: Promise<void>;
}

let writerNo = 0;
/** A writer process appending `count` events (fuzz/kill/writer.mjs): reports each acknowledgement. */
export function startWriter(host: Host, count: number, mode: 'single' | 'batch' | 'concurrent' = 'batch', seed = host.seed, keyName = host.keyName): WriterProcess {
  const cfg = { dir: host.dir, writer: `${host.name}-w${writerNo++}`, mode, count, batch: 50, concurrency: 16, pad: 16, seed, keyName };
  const child = spawn(process.execPath, [path.join(ROOT, 'fuzz/kill/writer.mjs'), JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acks: WriterProcess['acks'] = [];
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
  onCleanup(() => {
    child.kill('SIGKILL');
    return done;
  });
  return { child, acks, done };
}

/** The sidecar shipper process, restartable; parses its JSON log lines. */
export class SidecarProcess {
  child!: ChildProcess;
  exited!: Promise<number | null>;
  ready!: Promise<void>;
  readonly logs: Record<string, unknown>[] = [];

  constructor(
    readonly host: Host,
    public url: string,
    private readonly extra: string[] = [],
  ) {
    this.start();
    onCleanup(() => this.kill('SIGKILL'));
  }

  start(): void {
    this.child = spawn(process.execPath, [BIN, 'ship', this.host.dir, '--to', this.url, '--source', this.host.name, '--token-file', this.host.tokenFile, '--poll', '100', '--backoff-min', '50', '--backoff-max', '1000', '--halted-retry', '500', ...this.extra], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const child = this.child;
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    let buf = '';
    this.ready = new Promise((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
          const rec = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
          buf = buf.slice(nl + 1);
          this.logs.push(rec);
          if (rec.msg === 'shipper started') resolve();
        }
      });
      void this.exited.then(() => resolve());
    });
  }

  async kill(signal: NodeJS.Signals): Promise<number | null> {
    if (signal === 'SIGTERM') await this.ready;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  status(): Record<string, unknown> | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.host.dir, `ship-${this.host.name}.status.json`), 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
}

/** GET /v1/sources/{name} with the host's token. */
export async function sourceHead(url: string, host: Host): Promise<{ next: number; forks: number }> {
  let res: Response;
  try {
    res = await fetch(`${url}/v1/sources/${host.name}`, { headers: { authorization: `Bearer ${host.token}` } });
  } catch {
    // A kept-alive connection the server closed (or a restarting collector): ask once more.
    await new Promise((r) => setTimeout(r, 100));
    res = await fetch(`${url}/v1/sources/${host.name}`, { headers: { authorization: `Bearer ${host.token}` } });
  }
  if (!res.ok) throw new Error(`GET source ${host.name}: ${res.status}`);
  return (await res.json()) as { next: number; forks: number };
}

export function hostLineCount(host: Host): number {
  const text = fs.readFileSync(path.join(host.dir, 'events.jsonl'), 'utf8');
  return text.split('\n').length - 1;
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every event arrived once, in order: the collector's export is byte-identical, and verify exits 0. */
export function assertCollectorHolds(db: string, host: Host): void {
  const out = tempDir('sealed-ledger-e2e-export-');
  try {
    const dir = path.join(out.dir, 'export');
    const r = cli(['collector', 'export', '--db', db, '--source', host.name, '--out', dir]);
    if (r.status !== 0) throw new Error(`collector export failed (${r.status}): ${r.stderr}`);
    const exported = fs.readFileSync(path.join(dir, 'events.jsonl'));
    const local = fs.readFileSync(path.join(host.dir, 'events.jsonl'));
    if (!exported.equals(local)) throw new Error(`${host.name}: the collector's export (${exported.length} bytes) is not byte-identical to events.jsonl (${local.length} bytes)`);
  } finally {
    out.cleanup();
  }
  const v = cli(['collector', 'verify', '--db', db, '--source', host.name]);
  if (v.status !== 0) throw new Error(`collector verify exited ${v.status}: ${v.stdout}${v.stderr}`);
}

/** Heal the folder as the next writer open does (a killed writer may leave a torn tail). */
export async function healHost(host: Host): Promise<void> {
  await (await Ledger.open({ dir: host.dir })).close();
}
