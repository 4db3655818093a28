#!/usr/bin/env node
/**
 * `npm run mutate -- <scope>`: a Stryker run of one scope, configured by mutate/<scope>.config.mjs.
 * Not part of `npm test`: a run takes many minutes. Scores and surviving mutants are recorded in
 * mutate/<scope>.survivors.md and README's "Mutation testing" table.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const scopes = fs.readdirSync(here).filter((f) => f.endsWith('.config.mjs')).map((f) => f.slice(0, -'.config.mjs'.length)).sort();
const [scope, ...rest] = process.argv.slice(2);
if (!scope || !scopes.includes(scope)) {
  console.error(`usage: npm run mutate -- <scope> [stryker options]; scopes: ${scopes.join(', ')}`);
  process.exit(64);
}
const bin = path.join(here, '..', 'node_modules', '.bin', process.platform === 'win32' ? 'stryker.cmd' : 'stryker');
const r = spawnSync(bin, ['run', path.join(here, `${scope}.config.mjs`), ...rest], { stdio: 'inherit', cwd: path.join(here, '..') });
process.exit(r.status ?? 1);
