/**
 * The kill suites' children run the built package (dist/), so a stale build would test old code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DIST } from '../../fuzz/lib/library.mjs';

function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

/** Throws when dist/ is missing; warns when a source file is newer than the build. */
export function assertDistBuilt(): void {
  const index = path.join(DIST, 'index.js');
  if (!fs.existsSync(index)) throw new Error(`${index} is missing: run npm run build (npm test does)`);
  const src = path.join(DIST, '..', 'src');
  if (newest(src) > fs.statSync(index).mtimeMs) console.warn('warning: src/ is newer than dist/: the kill children run the last build (npm test rebuilds)');
}
