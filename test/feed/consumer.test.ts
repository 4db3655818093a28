// spec §21.5: durable consumer offsets: cumulative acks, exact resume, the offset file's format
// and its checks against events.jsonl.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { consumer } from '../../src/feed/consumer.js';
import { listConsumers } from '../../src/feed/consumer-admin.js';
import { offsetPath, readOffset } from '../../src/feed/consumer-offsets.js';
import { cleanupAll, fresh, openNew } from '../ledger/ledger-helpers.js';
import { jsonlHashes, take } from './feed-helpers.js';

afterEach(cleanupAll);

async function ledgerWith(n: number): Promise<string> {
  const dir = fresh();
  const ledger = await openNew(dir, { projectionLagMs: 0 });
  for (let i = 0; i < n; i++) await ledger.append({ kind: 'k', payload: i });
  await ledger.close();
  return dir;
}

describe('durable consumers (spec §21.5)', () => {
  it('manual acks are cumulative and durable; a new iteration resumes after the last one', async () => {
    const dir = await ledgerWith(8);
    const c = consumer(dir, 'read-model');
    const ac = new AbortController();
    const it = c.events({ ack: 'manual', signal: ac.signal });
    expect((await take(it, 5)).map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
    await c.ack(2);
    expect(readOffset(dir, 'read-model')).toMatchObject({ seq: 2, hash: jsonlHashes(dir)[2] });
    await c.ack(1); // older: nothing changes
    expect(readOffset(dir, 'read-model').seq).toBe(2);
    await expect(c.ack(6)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' }); // not delivered yet
    expect(() => c.events()).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' })); // one at a time
    ac.abort();
    expect((await it.next()).done).toBe(true);
    // The offset file is one canonical JSON object (spec §21.5).
    const text = fs.readFileSync(offsetPath(dir, 'read-model'), 'utf8');
    expect(text).toMatch(/^\{"hash":"[0-9a-f]{64}","name":"read-model","offset":\d+,"seq":2,"type":"sealed-ledger-consumer","updatedAt":"[^"]+","v":1\}\n$/);
    const again = consumer(dir, 'read-model').events();
    expect((await take(again, 5)).map((e) => e.seq)).toEqual([3, 4, 5, 6, 7]);
    await again.return(undefined);
  });

  it('handle() acknowledges each event after its handler resolved, not one that threw', async () => {
    const dir = await ledgerWith(6);
    const c = consumer(dir, 'alerts');
    const seen: number[] = [];
    await expect(
      c.handle(async (e) => {
        if (e.seq === 3) throw new Error('handler failed');
        seen.push(e.seq);
      }),
    ).rejects.toThrow('handler failed');
    expect(seen).toEqual([0, 1, 2]);
    expect(readOffset(dir, 'alerts').seq).toBe(2);
    const it = consumer(dir, 'alerts').events();
    expect((await it.next()).value?.seq).toBe(3);
    await it.return(undefined);
  });

  it('refuses an offset that events.jsonl no longer holds, and a damaged offset file', async () => {
    const dir = await ledgerWith(4);
    const c = consumer(dir, 'siem');
    const it = c.events({ ack: 'manual' });
    await take(it, 2);
    await c.ack(1);
    await it.return(undefined);
    const file = offsetPath(dir, 'siem');
    const stored = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...stored, hash: 'ab'.repeat(32) }));
    await expect(consumer(dir, 'siem').events().next()).rejects.toMatchObject({ code: 'LEDGER_CORRUPT' });
    fs.writeFileSync(file, '{"type":"sealed-ledger-consumer"');
    expect(() => consumer(dir, 'siem')).toThrow(expect.objectContaining({ code: 'LEDGER_CORRUPT' }));
  });

  it('lists consumers with their lag and ignores a temp file left by a crashed write', async () => {
    const dir = await ledgerWith(5);
    const c = consumer(dir, 'a');
    const it = c.events({ ack: 'manual' });
    await take(it, 2);
    await c.ack(1);
    await it.return(undefined);
    fs.writeFileSync(path.join(dir, 'consumers', '.a.json.0123456789ab.tmp'), '{"partial');
    expect((await listConsumers(dir)).map((s) => [s.name, s.seq, s.lag])).toEqual([['a', 1, 3]]);
  });

  it('refuses names that are paths, hidden or too long', () => {
    const dir = fresh();
    for (const name of ['../x', 'a/b', '.hidden', '', 'x'.repeat(65), 'a b']) {
      expect(() => consumer(dir, name), name).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});
