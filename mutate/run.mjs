#!/usr/bin/env node
/**
 * `npm run mutate -- <scope> [stryker options]`: mutation testing of one scope, configured by
 * mutate/<scope>.config.mjs. Too slow for CI (minutes to hours on two cores); run by hand when
 * the code or the tests of a scope change, and record the score beside the config.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const scopes = fs.readdirSync(here).filter((f) => f.endsWith('.config.mjs')).map((f) => f.slice(0, -'.config.mjs'.length)).sort();
const [scope, ...rest] = process.argv.slice(2);
if (!scope || scope.startsWith('-') || !scopes.includes(scope)) {
  console.error(`usage: npm run mutate -- <scope> [stryker options, e.g. --concurrency 2]\nscopes: ${scopes.join(', ')}`);
  process.exit(2);
}
const stryker = path.join(here, '..', 'node_modules', '.bin', 'stryker');
const r = spawnSync(stryker, ['run', path.join('mutate', `${scope}.config.mjs`), ...rest], { cwd: path.join(here, '..'), stdio: 'inherit' });
process.exit(r.status ?? 1);
