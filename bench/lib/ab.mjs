// What the two-build A/B scripts (replay-ab, open-missing-ab) share: their options, the two
// builds (`--base DIR`, a copy of an older dist/ inside this checkout so that it resolves
// node_modules, and today's dist/), the source ledger both read, and the median they print.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { batchOf } from './events.mjs';

const args = process.argv.slice(2);

/** The value after `--name` on the command line, or `dflt`. */
export function option(name, dflt) {
  return args.includes(name) ? args[args.indexOf(name) + 1] : dflt;
}

/** `{ base, new }`: the library built at `--base` and today's dist/. */
export async function baseAndNew() {
  const baseDir = option('--base');
  if (!baseDir) throw new Error('--base DIR (a built dist/ to compare against) is required');
  return {
    base: await import(pathToFileURL(path.resolve(baseDir, 'index.js')).href),
    new: await import(new URL('../../dist/index.js', import.meta.url).href),
  };
}

/** An unsigned ledger of `events` events at `dir`, written by `build` in batches of 1,000. */
export async function writeSource(build, dir, events) {
  const ledger = await build.Ledger.open({ dir, create: true });
  for (let i = 0; i < events; i += 1000) await ledger.appendBatch(batchOf(1000, i));
  await ledger.close();
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
