// spec §18.10.1: a client that stops reading a large stream does not grow the collector's memory.
// The collector is a real process (dist/); its resident set is read from /proc while a client
// follows ~96 MB of stored events and never reads past the first bytes. The stream is cut off
// with a comment saying why, which the client gets once it reads again.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCollectorDatabase } from '../../src/collector/database.js';
import { SourceRegistry } from '../../src/collector/sources.js';
import { ensureBuilt, ROOT } from '../cli/cli-harness.js';
import { collectorListening, post } from './processes.js';
import { BACKENDS, HostChain, newDatabase, removeTempDirs, tempFolder } from './support.js';

afterAll(removeTempDirs);

const EVENTS = 3_000;
const PAYLOAD = 32 * 1024;
const STALL_MS = 2_000;

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** A collector process with stream bounds made short enough for a test. */
async function spawnStreamingCollector(db: string) {
  ensureBuilt();
  const entry = path.join(ROOT, 'dist/collector/index.js');
  const code = `
    const { createCollector } = await import(${JSON.stringify(entry)});
    const c = await createCollector({ db: process.argv[2], rateLimit: false, logger: { level: 'warn' },
      stream: { stallMs: ${STALL_MS}, maxBufferBytes: 1 << 20, pageSize: 100, heartbeatMs: 60000 } });
    console.log(JSON.stringify({ url: await c.listen() }));
    process.on('SIGTERM', () => c.close().then(() => process.exit(0)));`;
  // A script file, not `node -e`: the check workers inherit the parent's execArgv.
  const script = path.join(tempFolder(), 'collector.mjs');
  fs.writeFileSync(script, code);
  const child = spawn(process.execPath, [script, db], { stdio: ['ignore', 'pipe', 'pipe'] });
  return collectorListening(child);
}

describe.each(BACKENDS)('a stalled stream client and the collector process memory on %s', (backend) => {
  it('RSS stays bounded while a client that stops reading follows ~96 MB; it is cut off with a comment', { timeout: 240_000 }, async () => {
    const db = await newDatabase(backend, 'sse-mem');
    const host = new HostChain();
    const big = 'x'.repeat(PAYLOAD);
    for (let i = 0; i < EVENTS; i++) host.next({ payload: { big, n: i } }, { signer: null });
    const h = await openCollectorDatabase(db);
    const { token } = await new SourceRegistry(h).add({ name: 'big' }).finally(() => h.close());
    const proc = await spawnStreamingCollector(db);
    try {
      for (let i = 0; i < EVENTS; i += 120) {
        const r = await post(proc.url, 'big', token, host.body(i, Math.min(EVENTS, i + 120))).catch((e: Error) => {
          throw new Error(`batch at ${i}: ${e.message}; collector output:\n${proc.logs()}`);
        });
        expect(r.status, JSON.stringify(r.json)).toBe(200);
      }
      const streamBytes = host.lines.reduce((n, l) => n + l.length, 0);
      await new Promise((r) => setTimeout(r, 500));
      const baseline = rssBytes(proc.child.pid!);

      // The client: headers and the first chunk arrive, then it stops reading the socket.
      let text = '';
      let closed = false;
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        http.get(`${proc.url}/v1/sources/big/events?follow=1`, { headers: { authorization: `Bearer ${token}` } }, resolve).on('error', reject);
      });
      expect(res.statusCode).toBe(200);
      res.setEncoding('utf8');
      res.once('data', (d: string) => {
        text += d;
        res.pause();
      });
      res.on('close', () => (closed = true));

      let peak = baseline;
      const deadline = Date.now() + 120_000;
      while (!/event stream cut off/.test(proc.logs())) {
        if (Date.now() > deadline) throw new Error(`no cut-off logged:\n${proc.logs()}`);
        peak = Math.max(peak, rssBytes(proc.child.pid!));
        await new Promise((r) => setTimeout(r, 50));
      }
      // Read again at once: what was queued, then the comment that says why the stream ended.
      res.on('data', (d: string) => (text += d));
      res.resume();
      const until = Date.now() + 10_000;
      while (!closed && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      const growth = peak - baseline;
      const delivered = (text.match(/^id: /gm) ?? []).length;
      console.log(
        `${backend}: stream ${(streamBytes / 1e6).toFixed(1)} MB; collector RSS ${(baseline / 1e6).toFixed(1)} MB before, peak ${(peak / 1e6).toFixed(1)} MB (+${(growth / 1e6).toFixed(1)} MB) while stalled; ${delivered} of ${EVENTS} events reached the client before the cut`,
      );
      expect(closed).toBe(true);
      expect(text).toMatch(new RegExp(`: closing: the client (has not read for ${STALL_MS} ms|is not reading[^\\n]*)\\n\\n$`));
      expect(delivered).toBeLessThan(EVENTS / 2);
      // A stream that buffered what the client does not read would hold ~96 MB.
      expect(growth).toBeLessThan(streamBytes / 4);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });
});
