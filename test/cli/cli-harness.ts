/**
 * Drives the real `sealed-ledger` binary (dist/cli/main.js) as a child process. `npm test` builds
 * first; when dist is older than src (e.g. `npx vitest run test/cli` after an edit), the first
 * test file to notice rebuilds it, under a lock so parallel files do not run tsc twice.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'dist/cli/main.js');
const LOCK = path.join(ROOT, 'dist/.cli-test-build.lock');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

function isStale(): boolean {
  return !fs.existsSync(BIN) || fs.statSync(BIN).mtimeMs < newestMtime(path.join(ROOT, 'src'));
}

/** Builds dist/ when it is missing or older than src/. */
export function ensureBuilt(): void {
  if (!isStale()) return;
  fs.mkdirSync(path.dirname(LOCK), { recursive: true });
  for (const deadline = Date.now() + 120_000; ; ) {
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${LOCK} held for 2 minutes; remove it if no build is running`);
      spawnSync('sleep', ['0.2']);
    }
  }
  try {
    if (!isStale()) return;
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
    // tsc emits even with type errors elsewhere in src/; the CLI tests then run what was built.
    if (!fs.existsSync(BIN)) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
    fs.utimesSync(BIN, new Date(), new Date());
  } finally {
    fs.rmdirSync(LOCK);
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  input?: string;
  env?: Record<string, string>;
}

/** Runs the binary to completion. stdin is closed (empty) unless `input` is given. */
export function cli(args: string[], o: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: o.cwd,
    input: o.input ?? '',
    encoding: 'utf8',
    env: { ...process.env, ...o.env },
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the binary without waiting (tail --follow). */
export function cliSpawn(args: string[], o: CliOptions = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The JSONL lines of stdout. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

/** An error must be exactly one line in the documented format, without a stack trace. */
export function expectOneErrorLine(stderr: string, code: string): string {
  const ls = lines(stderr);
  if (ls.length !== 1) throw new Error(`expected one stderr line, got ${ls.length}:\n${stderr}`);
  const line = ls[0]!;
  if (!line.startsWith(`sealed-ledger: ${code}: `)) throw new Error(`expected "sealed-ledger: ${code}: …", got: ${line}`);
  if (/\n\s+at /.test(stderr)) throw new Error(`stack trace on stderr:\n${stderr}`);
  return line;
}
