/**
 * The library under test, as the long runs and the kill children see it: the built package in
 * dist/ (run `npm run build` first). The vitest slice passes the TypeScript sources instead
 * (test/crash/src-library.ts), so both run the same property code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

export async function loadDistLibrary(dist = DIST) {
  const at = (file) => pathToFileURL(path.join(dist, file)).href;
  if (!fs.existsSync(path.join(dist, 'index.js'))) throw new Error(`${dist}/index.js is missing: run npm run build first`);
  const index = await import(at('index.js'));
  const testing = await import(at('testing.js'));
  const jsonl = await import(at('store/jsonl-file.js'));
  const stdin = await import(at('cli/stdin-events.js'));
  // verifyDefaults: options every suite passes to verifyLedger (the sources need workers: 0);
  // ledgerDefaults: to Ledger.open (the sources need the compiled signing thread).
  return { ...index, ...testing, JsonlFile: jsonl.JsonlFile, readInputLines: stdin.readInputLines, verifyDefaults: {}, ledgerDefaults: {}, dist };
}

/**
 * A private copy of dist/ for a long run, so that a rebuild during the run (another `npm run
 * build`) cannot hand half-written modules to the writers it spawns. It lives inside the project
 * so that imports still resolve node_modules, next to a copy of package.json (module type,
 * version); removed when the process exits.
 */
export function snapshotDist() {
  const root = fileURLToPath(new URL(`../.dist-snapshot-${process.pid}/`, import.meta.url));
  const copy = path.join(root, 'dist');
  fs.cpSync(DIST, copy, { recursive: true });
  // The package's own files find package.json one level above dist/.
  fs.copyFileSync(path.join(DIST, '..', 'package.json'), path.join(root, 'package.json'));
  process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));
  return copy;
}
