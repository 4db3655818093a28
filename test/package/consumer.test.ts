/**
 * The package as a consumer gets it (issue: "from npm pack into a fresh app"): pack the built
 * tree, install the tarball into a scratch app from the local npm cache, type-check a consumer
 * file with strict/nodenext and no skipLibCheck (and the testing entry under node10), then run an
 * ESM program, a require() program and the bin against the installed copy.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./consumer', import.meta.url));
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const NPM_QUIET = ['--no-audit', '--no-fund', '--loglevel=error'];
/** tsc without skipLibCheck reads all of @types/node: ~20 s of CPU, far more on a loaded machine. */
const TSC_TIMEOUT_MS = 300_000;

let work: string;
let app: string;
let tarball: string;
let packed: string[];

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run npm run build (npm test does)');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-consumer-'));
  // dist/ is fresh (npm test builds first), so skip prepack's rebuild; its script is tested below.
  const pack = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work, ...NPM_QUIET], { cwd: ROOT, encoding: 'utf8' }));
  tarball = path.join(work, pack[0].filename);
  packed = pack[0].files.map((f: { path: string }) => f.path);

  app = path.join(work, 'app');
  fs.cpSync(FIXTURE, app, { recursive: true });
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
  const typesNode = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/@types/node/package.json'), 'utf8')).version;
  // Scripts are skipped: better-sqlite3 would compile for a minute; its addon is copied below.
  const install = ['install', tarball, `@types/node@${typesNode}`, '--ignore-scripts', '--no-package-lock', ...NPM_QUIET];
  let r = run('npm', [...install, '--offline'], app);
  if (r.status !== 0) r = run('npm', [...install, '--prefer-offline'], app);
  if (r.status !== 0) throw new Error(`npm install of the tarball failed:\n${r.out}`);
  // README's library example, type-checked with app.ts and run twice below.
  const example = /## Library\n\n```ts\n([\s\S]*?)```/.exec(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'))?.[1];
  if (!example) throw new Error("README.md has no ```ts block under ## Library");
  fs.writeFileSync(path.join(app, 'readme-example.ts'), example);
  fs.writeFileSync(path.join(app, 'readme-example.mjs'), example);
  const addon = path.join('node_modules', 'better-sqlite3', 'build');
  fs.cpSync(path.join(ROOT, addon), path.join(app, addon), { recursive: true });
}, 300_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('ships the built code, the docs README links to and a license; no sources, no source maps', () => {
    for (const f of ['package.json', 'LICENSE', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/testing.js', 'dist/cli/main.js']) {
      expect(packed, f).toContain(f);
    }
    expect(packed.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(packed.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
    // Every relative link in README resolves inside the tarball.
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(((?!https?:|#)[^)#]+)(#[^)]*)?\)/g)].map((m) => m[1]!.replace(/\/$/, ''));
    expect(links.length).toBeGreaterThan(3);
    for (const link of links) expect(packed.some((f) => f === link || f.startsWith(`${link}/`)), link).toBe(true);
    expect(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004[\s\S]*END OF TERMS AND CONDITIONS/);
  });

  it('type-checks a consumer with strict, nodenext and no skipLibCheck; no SQLite driver types reach it', () => {
    const r = run(process.execPath, [TSC, '-p', 'tsconfig.json', '--listFiles'], app);
    const lines = r.out.split('\n').filter(Boolean);
    expect(lines.filter((l) => /error TS/.test(l))).toEqual([]);
    expect(r.status).toBe(0);
    const ours = lines.filter((f) => f.includes('node_modules/sealed-ledger/'));
    expect(ours.length).toBeGreaterThan(5);
    for (const f of ours) expect(fs.readFileSync(f.trim(), 'utf8'), f).not.toMatch(/from 'better-sqlite3'/);
    const ledger = fs.readFileSync(path.join(app, 'node_modules/sealed-ledger/dist/ledger/ledger.d.ts'), 'utf8');
    expect(ledger).not.toMatch(/\b(crash|die|poison|healInLock|acquireWriterLock)\(/);
  }, TSC_TIMEOUT_MS);

  it('resolves sealed-ledger/testing under node10 resolution', () => {
    const r = run(process.execPath, [TSC, '-p', 'tsconfig.node10.json'], app);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  }, TSC_TIMEOUT_MS);

  it('runs an ESM program', () => {
    const r = run(process.execPath, ['esm.mjs', path.join(work, 'esm-ledger')], app);
    expect(r.status, r.out).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ ok: true, events: 3, signed: 3 });
  });

  it('runs a require() program (Node >= 20.19)', () => {
    const r = run(process.execPath, ['cjs.cjs', path.join(work, 'cjs-ledger')], app);
    expect(r.status, r.out).toBe(0);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(JSON.parse(r.out)).toEqual({ ok: true, events: 1, version: pkg.version, code: 'LEDGER_NOT_FOUND' });
  });

  it("runs README's library example twice in one folder: the key is saved, then reloaded", () => {
    const cwd = path.join(work, 'readme-run');
    fs.mkdirSync(cwd);
    const first = run(process.execPath, [path.join(app, 'readme-example.mjs')], cwd);
    expect(first.out).toBe('0\n');
    expect(first.status).toBe(0);
    const second = run(process.execPath, [path.join(app, 'readme-example.mjs')], cwd);
    expect(second.out).toBe('0\n5\n'); // order-42 is not appended twice
    expect(second.status).toBe(0);
    expect(fs.statSync(path.join(cwd, 'audit.key.json')).mode & 0o777).toBe(0o600);
  });

  it('runs the bin from node_modules/.bin', () => {
    const r = run(path.join(app, 'node_modules', '.bin', 'sealed-ledger'), ['verify', path.join(work, 'esm-ledger'), '--quiet'], app);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  it('prepack rebuilds dist/ from a clean slate, so a pack of an unbuilt clone ships code', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.prepack).toMatch(/rmSync\('dist'.*&& npm run build$/);
  });
});
