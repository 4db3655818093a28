#!/usr/bin/env node
/**
 * Steady-state shipping lag: appends at a fixed rate (default 1,000/s, single appends) to a
 * ledger with an in-process shipper; the lag of an event is the time from its append's
 * acknowledgement to the shipper's `shipped` event covering it. Against a loopback sink process
 * (bench/lib/ship-sink.mjs) by default, or a real collector:
 *
 *   node bench/ship-lag.mjs [--rate 1000] [--seconds 10] [--json]
 *   node bench/ship-lag.mjs --url http://127.0.0.1:8080 --source S --token-file F --dir D --seed HEX --key-name N
 *
 * Prints p50/p99/max lag in ms; exit 0 when p99 < 1,000 ms.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const str = (name) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
};
const RATE = Number(str('rate') ?? 1000);
const SECONDS = Number(str('seconds') ?? 10);
const json = args.includes('--json');
const lib = await import(pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href);

let url = str('url');
let sinkChild;
if (!url) {
  sinkChild = spawn(process.execPath, [fileURLToPath(new URL('./lib/ship-sink.mjs', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise((resolve) => sinkChild.stdout.once('data', (d) => resolve(d.toString().trim())));
}
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-ship-lag-'));
process.on('exit', () => {
  sinkChild?.kill();
  fs.rmSync(root, { recursive: true, force: true });
});
const dir = str('dir') ?? path.join(root, 'ledger');
const seed = str('seed') ?? '22'.repeat(32);
const signer = lib.signingKeyFromSeed(Buffer.from(seed, 'hex'), str('key-name') ?? 'lag-key');
const ledger = await lib.Ledger.open({ dir, create: !str('dir'), signer });
const tokenFile = str('token-file');
const shipper = lib.startShipper({ ledger, url, source: str('source') ?? 'bench', ...(tokenFile ? { tokenFile } : { token: 'bench' }), cursorFile: false });

const base = ledger.headInfo().seq + 1;
const ackAt = new Map();
const lags = [];
let shippedThrough = base - 1;
shipper.on('shipped', ({ through }) => {
  const now = performance.now();
  for (let s = shippedThrough + 1; s <= through; s++) {
    const t = ackAt.get(s);
    if (t !== undefined) {
      lags.push(now - t);
      ackAt.delete(s);
    }
  }
  shippedThrough = Math.max(shippedThrough, through);
});
// Wait for the shipper to reach the collector first (not part of the steady state).
await new Promise((r) => (shipper.status().shippedThrough !== null ? r() : shipper.once('shipped', r), setTimeout(r, 3000)));

const total = Math.round(RATE * SECONDS);
const started = performance.now();
let sent = 0;
const pending = [];
while (sent < total) {
  const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
  for (; sent < due; sent++) {
    pending.push(ledger.append({ kind: 'bench.lag', payload: { i: sent } }).then((ev) => ackAt.set(ev.seq, performance.now())));
  }
  await new Promise((r) => setTimeout(r, 1));
}
await Promise.all(pending);
const deadline = performance.now() + 30_000;
while (shippedThrough < base + total - 1 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
const elapsed = (performance.now() - started) / 1000;
await ledger.close();
sinkChild?.kill();
lags.sort((a, b) => a - b);
const q = (p) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? NaN;
const result = {
  rate: RATE,
  achievedRate: Math.round(total / elapsed),
  events: total,
  measured: lags.length,
  p50Ms: Number(q(0.5).toFixed(1)),
  p99Ms: Number(q(0.99).toFixed(1)),
  maxMs: Number((lags.at(-1) ?? NaN).toFixed(1)),
  target: 'p99 < 1000 ms',
};
if (json) console.log(JSON.stringify(result));
else console.log(`ship lag at ${RATE} appends/s (achieved ${result.achievedRate}/s, ${total} events, ${lags.length} measured): p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms (target p99 < 1000 ms)`);
process.exitCode = lags.length === total && result.p99Ms < 1000 ? 0 : 1;
