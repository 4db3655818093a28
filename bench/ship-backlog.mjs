#!/usr/bin/env node
/**
 * A backlog of N events shipped by the sidecar (dist/cli/main.js ship, a real process) to a
 * loopback sink that speaks the collector protocol's success path (it counts lines and checks that
 * every batch starts at the seq it expects, storing nothing): events/s of the shipper alone and
 * its peak RSS (VmHWM). The lines are synthetic (seq, at, padding): the shipper's memory and
 * speed do not depend on what the lines say.
 *
 *   node bench/ship-backlog.mjs [--events 1000000] [--pad 100] [--batch-lines 1000] [--json]
 *
 * Exit 0 when every line arrived in order and the peak RSS is <= 256 MB; 1 otherwise.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSink } from './lib/ship-sink.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(args[i + 1]);
};
const N = opt('events', 1_000_000);
const PAD = opt('pad', 100);
const BATCH = opt('batch-lines', 1000);
const json = args.includes('--json');
const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const LIMIT_MB = 256;

const root = fs.mkdtempSync(path.join(process.env.SEALED_LEDGER_BENCH_TMP ?? os.tmpdir(), 'sealed-ledger-ship-backlog-'));
const dir = path.join(root, 'ledger');
fs.mkdirSync(dir);
const cleanup = () => fs.rmSync(root, { recursive: true, force: true });
process.on('exit', cleanup);

// The backlog, written in 4 MiB chunks.
const fd = fs.openSync(path.join(dir, 'events.jsonl'), 'w');
const pad = 'x'.repeat(PAD);
let chunk = [];
let size = 0;
for (let seq = 0; seq < N; seq++) {
  const line = `{"at":"2026-01-01T00:00:00.000Z","id":"bench-${seq}","kind":"bench.event","payload":{"pad":"${pad}"},"seq":${seq},"v":1}\n`;
  chunk.push(line);
  size += line.length;
  if (size >= 4 << 20) {
    fs.writeSync(fd, chunk.join(''));
    chunk = [];
    size = 0;
  }
}
fs.writeSync(fd, chunk.join(''));
fs.fsyncSync(fd);
fs.closeSync(fd);
const bytes = fs.statSync(path.join(dir, 'events.jsonl')).size;

const sink = await startSink();
const url = sink.url;
fs.writeFileSync(path.join(root, 'token'), 'bench-token\n');

const started = performance.now();
const child = spawn(process.execPath, [BIN, 'ship', dir, '--to', url, '--source', 'bench', '--token-file', path.join(root, 'token'), '--batch-lines', String(BATCH), '--batch-bytes', String(8 << 20), '--poll', '50'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
const exited = new Promise((r) => child.on('exit', (code) => r(code)));
const hwm = () => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
};
let peak = 0;
while (sink.state.next < N && child.exitCode === null) {
  await new Promise((r) => setTimeout(r, 100));
  peak = Math.max(peak, hwm() || 0);
}
const seconds = (performance.now() - started) / 1000;
peak = Math.max(peak, hwm() || 0);
child.kill('SIGTERM');
const code = await exited;
await sink.close();
const result = {
  events: N,
  bytes,
  seconds: Number(seconds.toFixed(2)),
  eventsPerSecond: Math.round(N / seconds),
  peakRssMB: Number(peak.toFixed(1)),
  limitMB: LIMIT_MB,
  shippedInOrder: sink.state.next === N && sink.state.disorder === 0,
  exitCode: code,
};
if (json) console.log(JSON.stringify(result));
else
  console.log(
    `ship backlog: ${N} events (${(bytes / 1e6).toFixed(0)} MB) in ${result.seconds} s = ${result.eventsPerSecond} events/s (includes the sidecar's start and the 1 s settle); peak RSS ${result.peakRssMB} MB (limit ${LIMIT_MB}); in order: ${result.shippedInOrder}; exit ${code}`,
  );
process.exitCode = result.shippedInOrder && peak <= LIMIT_MB && code === 0 ? 0 : 1;
