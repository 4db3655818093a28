/**
 * A real PostgreSQL for tests: a throwaway cluster (initdb + pg_ctl) in a temp folder on a free
 * loopback port, or the server at SEALED_LEDGER_TEST_PG_URL. PostgreSQL refuses to run as root,
 * so as root the cluster runs as the `postgres` user (runuser, or su) in a folder chowned to it.
 * Missing binaries fail loudly: a test that needs PostgreSQL is never skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export const PG_URL_ENV = 'SEALED_LEDGER_TEST_PG_URL';

export interface PgCluster {
  /** URL of the `postgres` maintenance database. */
  readonly url: string;
  readonly port: number;
  /** True for a cluster this module started (stop/start work only on those). */
  readonly owned: boolean;
  readonly dir?: string;
  /** pg_ctl stop -m fast: the server goes away, its data stays. */
  stop(): void;
  /** pg_ctl start on the same port and data. */
  start(): void;
  /** Stops the server and deletes its folder. */
  destroy(): void;
}

function findBinDir(): string {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (onPath && fs.existsSync(path.join(path.dirname(onPath), 'pg_ctl'))) return path.dirname(onPath);
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base) ? fs.readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const dir = path.join(base, v, 'bin');
    if (fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  throw new Error(
    `PostgreSQL is required by the collector tests and was not found: no initdb/pg_ctl on PATH or in ${base}/*/bin. ` +
      `Install it (Debian: apt-get install -y postgresql; .ci/run does this) or set ${PG_URL_ENV}=postgres://user:pass@127.0.0.1:5432/postgres.`,
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function asPostgresUser(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [cmd, args];
  const hasRunuser = spawnSync('sh', ['-c', 'command -v runuser'], { encoding: 'utf8' }).stdout.trim() !== '';
  if (hasRunuser) return ['runuser', ['-u', 'postgres', '--', cmd, ...args]];
  const quoted = [cmd, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return ['su', ['postgres', '-s', '/bin/sh', '-c', quoted]];
}

function run(cmd: string, args: string[]): void {
  const [c, a] = asPostgresUser(cmd, args);
  try {
    execFileSync(c, a, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer; message: string };
    throw new Error(`${cmd} failed: ${err.message}\n${err.stdout?.toString() ?? ''}${err.stderr?.toString() ?? ''}`);
  }
}

/**
 * Starts a new cluster. `durable: false` (the default) turns fsync off, which tests that do not
 * cut the server's power can afford; benchmarks pass true.
 */
export async function startCluster(options: { durable?: boolean } = {}): Promise<PgCluster> {
  const bin = findBinDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-pg-'));
  const data = path.join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    fs.chownSync(dir, uid, gid);
  }
  run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  const opts = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses='127.0.0.1'",
    '-c max_connections=200',
    options.durable ? '-c fsync=on' : '-c fsync=off -c synchronous_commit=off -c full_page_writes=off',
  ].join(' ');
  const log = path.join(dir, 'server.log');
  const start = () => run(path.join(bin, 'pg_ctl'), ['-D', data, '-o', opts, '-l', log, '-w', '-t', '60', 'start']);
  const stop = () => run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  let alive = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    owned: true,
    dir,
    stop() {
      stop();
      alive = false;
    },
    start() {
      start();
      alive = true;
    },
    destroy() {
      if (alive) {
        try {
          run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } catch {
          // already gone
        }
      }
      alive = false;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The cluster for this run: SEALED_LEDGER_TEST_PG_URL's server, or a new throwaway one. */
export async function clusterForRun(): Promise<PgCluster> {
  const url = process.env[PG_URL_ENV];
  if (url) {
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.query('SELECT 1');
    } catch (e) {
      throw new Error(`${PG_URL_ENV} is set but its server is unreachable: ${(e as Error).message}`);
    } finally {
      await c.end().catch(() => undefined);
    }
    const notOwned = () => {
      throw new Error(`cannot stop or start the server at ${PG_URL_ENV}; use startCluster() for that`);
    };
    return { url, port: Number(new URL(url).port || 5432), owned: false, stop: notOwned, start: notOwned, destroy() {} };
  }
  return startCluster();
}

let counter = 0;

/** Creates an empty database on the cluster at `adminUrl` and returns its URL. */
export async function createDatabase(adminUrl: string, prefix = 'test'): Promise<string> {
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase().slice(0, 30)}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE "${name}"`);
  } finally {
    await c.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
