// spec §20.4: each collector answer and what the shipper does with it, against a loopback peer
// speaking the wire protocol (PROTOCOL.md), with scripted answers.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ShipError } from '../../src/ship/status.js';
import type { ShipLogRecord } from '../../src/ship/options.js';
import { ProtocolPeer } from '../support/protocol-peer.js';
import { appendN, cleanupShipTests, jsonlLines, ledgerWith, onCleanup, ship, until } from './ship-helpers.js';
import { tempDir } from '../helpers.js';

async function peer(): Promise<ProtocolPeer> {
  const p = await ProtocolPeer.start();
  onCleanup(() => p.close());
  return p;
}

afterEach(cleanupShipTests);

describe('shipper statuses (spec §20.4)', () => {
  it('2xx advances: ships everything, in order, once; lag returns to 0', async () => {
    const { ledger, dir } = await ledgerWith(2500);
    const p = await peer();
    const s = ship({ ledger, url: p.url, token: p.token });
    await until(() => s.status().shippedThrough === 2499);
    expect(p.lines).toEqual(jsonlLines(dir));
    expect(p.duplicates).toBe(0);
    expect(s.status()).toMatchObject({ state: 'running', head: 2499, lagEvents: 0, lagSeconds: 0, lastError: null });
    // one batch in flight, 1,000 lines each
    expect(p.requests.filter((r) => r.method === 'POST').map((r) => r.count)).toEqual([1000, 1000, 500]);
    // wakes on every commit
    await appendN(ledger, 3);
    await until(() => s.status().shippedThrough === 2502);
    expect(p.lines).toEqual(jsonlLines(dir));
  });

  it('starts from the collector\'s next, not from a local cursor', async () => {
    const { ledger, dir } = await ledgerWith(50);
    const p = await peer();
    p.lines.push(...jsonlLines(dir).slice(0, 30));
    const s = ship({ ledger, url: p.url, token: p.token });
    await until(() => s.status().shippedThrough === 49);
    const posts = p.requests.filter((r) => r.method === 'POST');
    // One line of overlap: the last line the collector holds comes back as a duplicate, so a
    // history rewritten while the shipper was away shows as FORK.
    expect(posts[0]).toMatchObject({ firstSeq: 29, count: 21 });
    expect(p.duplicates).toBe(1);
    expect(p.lines).toEqual(jsonlLines(dir));
  });

  it('409 SEQ_GAP rewinds to next (a collector restored from an older backup)', async () => {
    const { ledger, dir } = await ledgerWith(40);
    const p = await peer();
    const s = ship({ ledger, url: p.url, token: p.token, maxBatchLines: 10 });
    await until(() => s.status().shippedThrough === 39);
    // The collector loses its last 25 events (restored from a backup).
    p.lines.splice(15);
    await appendN(ledger, 5);
    await until(() => s.status().shippedThrough === 44);
    expect(p.requests.some((r) => r.status === 409)).toBe(true);
    expect(p.lines).toEqual(jsonlLines(dir));
  });

  it('duplicates advance (the collector already holds them)', async () => {
    const { ledger, dir } = await ledgerWith(20);
    const p = await peer();
    p.lines.push(...jsonlLines(dir));
    // The head lookup says 5, as if stale: the next batch is all duplicates.
    p.once.push((r) => (r.method === 'GET' ? { status: 200, body: { next: 5, head: { seq: 4, hash: 'x' } } } : undefined));
    const s = ship({ ledger, url: p.url, token: p.token });
    await until(() => s.status().shippedThrough === 19);
    expect(p.duplicates).toBe(16); // 4..19: the overlap line and the stale range
    expect(p.lines).toEqual(jsonlLines(dir));
  });

  it('a line edited after it was shipped is found at the next start (overlap) and halts with FORK', async () => {
    const { ledger, dir } = await ledgerWith(10);
    await ledger.close();
    const p = await peer();
    p.lines.push(...jsonlLines(dir));
    // The host edits its last shipped line in place.
    const file = path.join(dir, 'events.jsonl');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"i":9,', '"i":8,'));
    const s = ship({ dir, url: p.url, token: p.token, haltedRetryMs: 60_000 });
    expect(await new Promise<ShipError>((r) => s.once('halted', r))).toMatchObject({ code: 'FORK', seq: 9 });
    expect(p.forks.map((f) => f.seq)).toEqual([9]);
  });

  it('409 FORK halts that destination loudly and sends nothing past it', async () => {
    const { ledger, dir } = await ledgerWith(10);
    const p = await peer();
    p.lines.push(...jsonlLines(dir).slice(0, 5));
    p.lines[3] = p.lines[3]!.replace('"i":3', '"i":333');
    p.once.push((r) => (r.method === 'GET' ? { status: 200, body: { next: 2 } } : undefined));
    const logs: ShipLogRecord[] = [];
    const s = ship({ ledger, url: p.url, token: p.token, haltedRetryMs: 60_000 }, logs);
    const halted = new Promise<ShipError>((r) => s.once('halted', r));
    const err = await halted;
    expect(err).toMatchObject({ code: 'FORK', seq: 3, status: 409 });
    expect(s.status()).toMatchObject({ state: 'halted', lastError: { code: 'FORK', seq: 3 } });
    expect(logs.some((l) => l.level === 'error' && l.state === 'halted')).toBe(true);
    expect(p.forks).toHaveLength(1);
    expect(p.lines).toHaveLength(5);
    await new Promise((r) => setTimeout(r, 300));
    expect(p.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('413 halves the batch until the collector takes it', async () => {
    const { ledger, dir } = await ledgerWith(300);
    const p = await peer();
    p.maxLines = 70;
    const s = ship({ ledger, url: p.url, token: p.token });
    await until(() => s.status().shippedThrough === 299);
    const counts = p.requests.filter((r) => r.method === 'POST').map((r) => `${r.count}:${r.status}`);
    expect(counts.slice(0, 4)).toEqual(['300:413', '150:413', '75:413', '37:200']);
    expect(s.status().batchLines).toBe(37);
    expect(p.lines).toEqual(jsonlLines(dir));
  });

  it('422 poison halts with seq and reason, retries slowly logging at error, never skips, resumes by itself', async () => {
    const { ledger, dir } = await ledgerWith(30);
    const p = await peer();
    let keyRegistered = false;
    // Lines before the bad one are accepted; the bad one (seq 12) is refused until "registered".
    p.rule = (r) => {
      if (keyRegistered || r.method !== 'POST' || r.firstSeq === undefined) return undefined;
      const last = r.firstSeq + r.lines.length - 1;
      if (r.firstSeq > 12 || last < 12) return undefined;
      p.lines.push(...r.lines.slice(0, 12 - r.firstSeq));
      return { status: 422, body: { code: 'UNKNOWN_KEY', seq: 12, reason: 'kid 0123456789abcdef is not registered', next: 12, accepted: 12 - r.firstSeq } };
    };
    const logs: ShipLogRecord[] = [];
    const s = ship({ ledger, url: p.url, token: p.token, haltedRetryMs: 150 }, logs);
    const err = await new Promise<ShipError>((r) => s.once('halted', r));
    expect(err).toMatchObject({ code: 'UNKNOWN_KEY', seq: 12, status: 422, reason: 'kid 0123456789abcdef is not registered' });
    await until(() => logs.filter((l) => l.level === 'error').length >= 3, 10_000, 'three error logs');
    expect(p.lines).toHaveLength(12);
    const retries = p.requests.filter((r) => r.status === 422);
    expect(retries.length).toBeGreaterThanOrEqual(3);
    // The first attempt carried seq 0..29; every retry starts at the refused event, none past it.
    expect(retries[0]!.firstSeq).toBe(0);
    expect(retries.slice(1).every((r) => r.firstSeq === 12)).toBe(true);
    const resumed = new Promise((r) => s.once('resumed', r));
    keyRegistered = true;
    await resumed;
    await until(() => s.status().shippedThrough === 29);
    expect(p.lines).toEqual(jsonlLines(dir));
    expect(s.status().state).toBe('running');
  });

  it('401 halts until the token is fixed, re-reading the token file', async () => {
    const { ledger, dir } = await ledgerWith(5);
    const p = await peer();
    const t = tempDir();
    onCleanup(t.cleanup);
    const tokenFile = path.join(t.dir, 'token');
    fs.writeFileSync(tokenFile, 'wrong-token\n');
    const s = ship({ ledger, url: p.url, token: undefined, tokenFile });
    const err = await new Promise<ShipError>((r) => s.once('halted', r));
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    fs.writeFileSync(tokenFile, `${p.token}\n`);
    await until(() => s.status().shippedThrough === 4);
    expect(p.lines).toEqual(jsonlLines(dir));
  });

  it('403 halts as well', async () => {
    const { ledger } = await ledgerWith(3);
    const p = await peer();
    p.rule = () => ({ status: 403, body: { code: 'FORBIDDEN', message: 'token of another source' } });
    const s = ship({ ledger, url: p.url, token: p.token });
    expect(await new Promise<ShipError>((r) => s.once('halted', r))).toMatchObject({ code: 'FORBIDDEN', status: 403 });
  });

  it('429 and 503 honour Retry-After', async () => {
    const { ledger } = await ledgerWith(3);
    const p = await peer();
    const times: number[] = [];
    let n = 0;
    p.rule = (r) => {
      if (r.method !== 'POST') return undefined;
      times.push(Date.now());
      n++;
      if (n === 1) return { status: 429, body: { code: 'RATE_LIMITED' }, headers: { 'retry-after': '1' } };
      if (n === 2) return { status: 503, body: { code: 'UNAVAILABLE' }, headers: { 'retry-after': '1' } };
      return undefined;
    };
    // A backoff far shorter than Retry-After: the waits must come from the header.
    const s = ship({ ledger, url: p.url, token: p.token, backoff: { minMs: 1, maxMs: 5 } });
    await until(() => s.status().state === 'backing-off');
    expect(s.status().lastError).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    await until(() => s.status().shippedThrough === 2, 10_000);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(950);
  });

  it('other 5xx back off with full jitter, then succeed', async () => {
    const { ledger, dir } = await ledgerWith(4);
    const p = await peer();
    let fail = 4;
    p.rule = (r) => (r.method === 'POST' && fail-- > 0 ? { status: 500, body: { code: 'INTERNAL' } } : undefined);
    const draws: number[] = [];
    const s = ship({ ledger, url: p.url, token: p.token, backoff: { minMs: 10, maxMs: 40 }, random: () => (draws.push(1), 0.999) });
    await until(() => s.status().shippedThrough === 3);
    expect(draws).toHaveLength(4);
    expect(p.lines).toEqual(jsonlLines(dir));
  });

  it('startup never waits for the collector; a dead collector backs off', async () => {
    const { ledger } = await ledgerWith(3);
    const started = Date.now();
    const s = ship({ ledger, url: 'http://127.0.0.1:1', token: 'x' });
    expect(Date.now() - started).toBeLessThan(200);
    expect(s.status()).toMatchObject({ shippedThrough: null, stopped: false });
    await until(() => s.status().state === 'backing-off');
    expect(s.status().lastError?.code).toBe('NETWORK');
  });
});
