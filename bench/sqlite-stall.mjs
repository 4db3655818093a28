// Event-loop stall of the collector's process while it ingests 1,000-line signed batches into
// SQLite (spec §18.6.2): per batch, the longest gap of a 1 ms interval timer and the batch's
// wall time. `node bench/sqlite-stall.mjs [checkout] [batches]`: `checkout` is the folder whose
// dist/ is measured (default this one), so an older build can be measured in the same session.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chainLines } from './lib/chain-lines.mjs';

const root = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '..'));
const batches = Number(process.argv[3] ?? 9);
const { generateSigningKey } = await import(pathToFileURL(path.join(root, 'dist/index.js')).href);
const { createCollector } = await import(pathToFileURL(path.join(root, 'dist/collector/index.js')).href);
const { EventStore } = await import(pathToFileURL(path.join(root, 'dist/collector/event-store.js')).href);

// The append transaction's windows, so that a gap can be told to fall in it (the store's part)
// or outside it (receiving the body, the checks' merge, the response, the machine's load).
const appendWindows = [];
const append = EventStore.prototype.append;
EventStore.prototype.append = async function (...args) {
  const w = { start: performance.now(), end: Infinity };
  appendWindows.push(w);
  try {
    return await append.apply(this, args);
  } finally {
    w.end = performance.now();
  }
};

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sqlite-stall-'));
const collector = await createCollector({ db: path.join(tmp, 'c.sqlite'), rateLimit: false });
const url = await collector.listen();
const key = generateSigningKey({ kid: 'k1', name: 'bench' });
const { token } = await collector.sources.add({ name: 'stall', eventKeys: [{ kid: key.kid, name: key.name, publicKey: key.publicKey }], requireSignatures: true });
const { lines } = chainLines(1000 * (batches + 1), key);

let last = performance.now();
let worst = 0;
let gaps = [];
const timer = setInterval(() => {
  const now = performance.now();
  worst = Math.max(worst, now - last);
  if (now - last > 2) gaps.push([last, now]);
  last = now;
}, 1);
const rows = [];
for (let b = 0; b <= batches; b++) {
  const body = lines.slice(b * 1000, (b + 1) * 1000).join('\n') + '\n';
  worst = 0;
  gaps = [];
  appendWindows.length = 0;
  last = performance.now();
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/sources/stall/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' }, body });
  const json = await res.json();
  if (res.status !== 200 || json.accepted !== 1000) throw new Error(`ingest failed: ${res.status} ${JSON.stringify(json)}`);
  // The first batch warms up the check workers and the statement caches; it is not counted.
  const inAppend = (g) => appendWindows.some((w) => g[0] < w.end && g[1] > w.start);
  const span = (g) => g[1] - g[0];
  if (b > 0) rows.push({ stall: worst, appendStall: Math.max(0, ...gaps.filter(inAppend).map(span)), batch: performance.now() - t0, append: appendWindows.reduce((a, w) => a + w.end - w.start, 0) });
}
// The control: the same timer with nothing to do, for as long as a batch takes, so that what
// the machine's load alone costs (the process waiting for a core) is seen next to the stalls.
const batchMed = [...rows.map((r) => r.batch)].sort((a, b) => a - b)[Math.floor(rows.length / 2)];
const idle = [];
for (let i = 0; i < rows.length; i++) {
  worst = 0;
  last = performance.now();
  await new Promise((r) => setTimeout(r, batchMed));
  idle.push(worst);
}
clearInterval(timer);
await collector.close();
rmSync(tmp, { recursive: true, force: true });
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const stalls = rows.map((r) => r.stall);
console.log(JSON.stringify({
  checkout: root,
  batches: rows.length,
  stallMedianMs: +med(stalls).toFixed(1),
  stallMaxMs: +Math.max(...stalls).toFixed(1),
  appendStallMedianMs: +med(rows.map((r) => r.appendStall)).toFixed(1),
  appendStallMaxMs: +Math.max(...rows.map((r) => r.appendStall)).toFixed(1),
  appendMedianMs: +med(rows.map((r) => r.append)).toFixed(1),
  batchMedianMs: +med(rows.map((r) => r.batch)).toFixed(1),
  idleStallMedianMs: +med(idle).toFixed(1),
  load: os.loadavg().map((l) => +l.toFixed(2)),
}));
