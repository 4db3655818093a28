// Runs one row in its own process (fresh heap, own peak RSS) and sends the result to the parent.
// Standalone, for profiling one row:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/lib/child.mjs concurrent [--quick]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FULL, QUICK } from './config.mjs';
import { COLLECTOR_ROWS } from './collector-rows.mjs';
import { ROWS as HOST_ROWS } from './rows.mjs';
import { SHIP_ROWS } from './ship-rows.mjs';
import { SSE_ROWS } from './sse-row.mjs';

const ROWS = { ...HOST_ROWS, ...COLLECTOR_ROWS, ...SHIP_ROWS, ...SSE_ROWS };

const [rowId, arg] = process.argv.slice(2);
const standalone = !process.send;
let ctx;
if (standalone) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-bench-'));
  ctx = { ...(arg === '--quick' ? QUICK : FULL), root, bigDir: path.join(root, 'big') };
  if (['replay', 'parity', 'open', 'proof'].includes(rowId)) await ROWS.memory.run({ ...ctx, tmp: root });
} else {
  ctx = JSON.parse(arg);
}
ctx.tmp = fs.mkdtempSync(path.join(ctx.root, `${rowId}-`));
try {
  const row = ROWS[rowId];
  if (!row) throw new Error(`unknown row ${rowId}`);
  const loadBefore = os.loadavg()[0];
  const result = { id: rowId, title: row.title, ...(await row.run(ctx)) };
  // Other processes on the machine skew wall-clock figures; the 1-minute load says how much.
  result.load = { before: +loadBefore.toFixed(2), after: +os.loadavg()[0].toFixed(2) };
  if (standalone) console.log(JSON.stringify(result, null, 2));
  else process.send(result);
} finally {
  fs.rmSync(ctx.tmp, { recursive: true, force: true });
  if (standalone) fs.rmSync(ctx.root, { recursive: true, force: true });
}
