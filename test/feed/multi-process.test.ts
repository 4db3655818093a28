// spec §21.3, §21.5: followers and consumers in other processes than the writer. These tests run
// the built package (npm test builds first).
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { readOffset } from '../../src/feed/consumer-offsets.js';
import { cleanupAll, fresh, openNew } from '../ledger/ledger-helpers.js';
import { jsonlHashes, waitFor } from './feed-helpers.js';

const children = path.join(path.dirname(new URL(import.meta.url).pathname), 'children');
const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  cleanupAll();
});

beforeAll(() => {
  if (!fs.existsSync(new URL('../../dist/index.js', import.meta.url))) throw new Error('run `npm run build` first (npm test does)');
});

interface Child {
  child: ChildProcess;
  out(): string;
  err(): string;
  done: Promise<number | null>;
}

function start(script: string, args: string[]): Child {
  const child = spawn(process.execPath, [path.join(children, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, done };
}

const seqsOf = (out: string, word = ''): number[] =>
  out.split('\n').filter((l) => l.startsWith(word) && l.length > word.length).map((l) => Number(l.slice(word.length).split(' ')[0]));

describe('followers in other processes (spec §21.3)', () => {
  it('3 followers each see every event once, in order, while one process appends', async () => {
    const dir = fresh();
    await (await openNew(dir)).close();
    const total = 300;
    const followers = [0, 1, 2].map(() => start('follower.mjs', [dir, String(total)]));
    for (const f of followers) await waitFor(() => f.err().includes('ready'), 'a follower to start');
    const ledger = await Ledger.open({ dir });
    // Single appends, concurrent appends and batches: several commit shapes.
    for (let i = 0; i < 100; i++) await ledger.append({ kind: 'k', payload: i });
    await Promise.all(Array.from({ length: 100 }, (_, i) => ledger.append({ kind: 'c', payload: i })));
    for (let b = 0; b < 10; b++) await ledger.appendBatch(Array.from({ length: 10 }, (_, i) => ({ kind: 'b', payload: i })));
    await ledger.close();
    const codes = await Promise.all(followers.map((f) => f.done));
    const hashes = jsonlHashes(dir);
    expect(hashes).toHaveLength(total);
    for (const [i, f] of followers.entries()) {
      expect(codes[i], f.err()).toBe(0);
      const lines = f.out().trim().split('\n').map((l) => l.split(' '));
      expect(lines.map((l) => Number(l[0]))).toEqual(Array.from({ length: total }, (_, k) => k));
      expect(lines.map((l) => l[1])).toEqual(hashes);
    }
  });

  it('a torn tail and its reconcile while following: every durable event once, nothing torn', async () => {
    const dir = fresh();
    const first = await openNew(dir, { projectionLagMs: 0 });
    for (let i = 0; i < 20; i++) await first.append({ kind: 'k', payload: i });
    await first.close();
    const followers = [0, 1].map(() => start('follower.mjs', [dir, '40', '20']));
    for (const f of followers) await waitFor(() => f.err().includes('ready'), 'a follower to start');
    await waitFor(() => followers.every((f) => seqsOf(f.out()).length === 20), 'the first 20 events');
    // A writer died mid-line: the fragment, and a later one that ends with a newline but is garbage.
    fs.appendFileSync(path.join(dir, 'events.jsonl'), '{"v":1,"seq":20,"id":"torn\n{"v":1,"se');
    await new Promise((r) => setTimeout(r, 100));
    const healer = await Ledger.open({ dir });
    expect(healer.lastReconcile.tornTail?.savedTo).toMatch(/torn/);
    for (let i = 20; i < 40; i++) await healer.append({ kind: 'k', payload: i });
    await healer.close();
    const hashes = jsonlHashes(dir);
    for (const f of followers) {
      expect(await f.done, f.err()).toBe(0);
      const lines = f.out().trim().split('\n').map((l) => l.split(' '));
      expect(lines.map((l) => l[1])).toEqual(hashes);
    }
  });
});

describe('durable consumers (spec §21.5)', () => {
  it('SIGKILLed mid-stream and restarted: no gap, only unacknowledged events come again', async () => {
    const dir = fresh();
    const ledger = await openNew(dir);
    const total = 120;
    const writing = (async () => {
      for (let i = 0; i < total; i++) {
        await ledger.append({ kind: 'k', payload: i });
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const first = start('consumer.mjs', [dir, 'siem', '3']);
    await waitFor(() => seqsOf(first.out(), 'got ').length >= 40, 'the consumer to get 40 events');
    first.child.kill('SIGKILL');
    await first.done;
    await writing;
    await ledger.close();
    const got1 = seqsOf(first.out(), 'got ');
    const stored = readOffset(dir, 'siem');
    // Acknowledged means handled: everything up to the stored seq was delivered in the first run.
    expect(stored.seq).toBeGreaterThanOrEqual(30);
    expect(got1).toEqual(Array.from({ length: got1.length }, (_, i) => i));
    expect(got1.at(-1)! - stored.seq).toBeLessThanOrEqual(2); // at most the events in hand
    const second = start('consumer.mjs', [dir, 'siem', '0', String(total - 1)]);
    expect(await second.done, second.err()).toBe(0);
    expect(seqsOf(second.out(), 'start ')).toEqual([stored.seq]);
    const got2 = seqsOf(second.out(), 'got ');
    expect(got2).toEqual(Array.from({ length: total - stored.seq - 1 }, (_, i) => stored.seq + 1 + i));
    // Redelivered: exactly the events the first run got but had not acknowledged.
    expect(got2.filter((s) => got1.includes(s))).toEqual(got1.filter((s) => s > stored.seq));
    // The last one was handled and the loop left by break: not acknowledged, so it comes again.
    expect(readOffset(dir, 'siem').seq).toBe(total - 2);
  });
});
