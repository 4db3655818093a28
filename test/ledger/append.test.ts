// spec §13: the append path — order, group commit, batches, optimistic concurrency, idempotency.
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger, writerOf } from '../../src/ledger/ledger.js';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { codeOfAsync as codeOf } from '../helpers.js';
import { countingIO, jsonlLines, cleanupAll, fresh, openNew, sqliteRows } from './ledger-helpers.js';

afterEach(cleanupAll);

describe('append (spec §13.1)', () => {
  it('acknowledges once the line is in events.jsonl and the row in the writer transaction; other connections see it after flush()', async () => {
    const dir = fresh();
    const ledger = await openNew(dir);
    const ev = await ledger.append({ kind: 'k', payload: { a: 1 } });
    expect(ev.seq).toBe(0);
    expect(jsonlLines(dir)).toHaveLength(1);
    expect(ledger.get(0)).toEqual(ev);
    expect(await ledger.query.selectFrom('events').select('line').execute()).toEqual([{ line: jsonlLines(dir)[0] }]);
    await ledger.flush();
    expect(jsonlLines(dir)).toEqual([sqliteRows(dir)[0]!.line]);
    expect(ledger.headInfo()).toEqual({ seq: 0, hash: ev.hash, size: 1 });
    await ledger.close();
  });

  it('group commit: 200 concurrent appends share a handful of fsyncs, each caller gets its own event', async () => {
    const dir = fresh();
    const io = countingIO();
    const ledger = await openNew(dir, { io });
    const before = io.syncs;
    const events = await Promise.all(Array.from({ length: 200 }, (_, i) => ledger.append({ kind: 'k', payload: i, id: `id-${i}` })));
    expect(events.map((e) => e.id)).toEqual(Array.from({ length: 200 }, (_, i) => `id-${i}`));
    expect(new Set(events.map((e) => e.seq)).size).toBe(200);
    expect(io.syncs - before).toBeLessThanOrEqual(2);
    await ledger.flush();
    expect(sqliteRows(dir).map((r) => r.line)).toEqual(jsonlLines(dir));
    await ledger.close();
  });

  it('a bad input in a group fails alone and costs no seq', async () => {
    const dir = fresh();
    const ledger = await openNew(dir);
    await ledger.append({ kind: 'k', payload: 0, id: 'taken' });
    const results = await Promise.allSettled([
      ledger.append({ kind: 'k', payload: 1 }),
      ledger.append({ kind: 'k', payload: 2, id: 'taken' }), // conflict: same id, other content
      ledger.append({ kind: 'k', payload: 3 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.code).toBe('IDEMPOTENCY_CONFLICT');
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ seq: number }>).value.seq)).toEqual([1, 2]);
    await ledger.close();
  });

  it('appendBatch is all-or-nothing', async () => {
    const dir = fresh();
    const ledger = await openNew(dir);
    await ledger.append({ kind: 'k', payload: 0 });
    // invalid input: refused before anything is queued
    await expect(ledger.appendBatch([{ kind: 'k', payload: 1 }, { kind: 'bad kind', payload: 2 }])).rejects.toMatchObject({ code: 'INVALID_EVENT', details: { index: 1 } });
    // conflict discovered while sealing: the whole batch unwinds
    await ledger.append({ kind: 'k', payload: 'x', id: 'dup' });
    expect(await codeOf(ledger.appendBatch([{ kind: 'k', payload: 1 }, { kind: 'k', payload: 'other', id: 'dup' }]))).toBe('IDEMPOTENCY_CONFLICT');
    expect(jsonlLines(dir)).toHaveLength(2);
    const batch = await ledger.appendBatch(Array.from({ length: 1000 }, (_, i) => ({ kind: 'b', payload: i })));
    expect(batch.map((e) => e.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 2));
    await ledger.flush();
    expect(sqliteRows(dir)).toHaveLength(1002);
    await ledger.close();
  });

  it('expectedSeq: the head must be what the caller saw (-1 for empty)', async () => {
    const dir = fresh();
    const ledger = await openNew(dir);
    await ledger.append({ kind: 'k', payload: 0 }, { expectedSeq: -1 });
    expect(await codeOf(ledger.append({ kind: 'k', payload: 1 }, { expectedSeq: -1 }))).toBe('SEQ_CONFLICT');
    await ledger.append({ kind: 'k', payload: 1 }, { expectedSeq: 0 });
    // two writers racing on the same expected head: exactly one wins
    const race = await Promise.allSettled([
      ledger.append({ kind: 'k', payload: 'a' }, { expectedSeq: 1 }),
      ledger.append({ kind: 'k', payload: 'b' }, { expectedSeq: 1 }),
    ]);
    expect(race.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    await expect(ledger.append({ kind: 'k', payload: 1 }, { expectedSeq: 1.5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await ledger.close();
  });

  it('idempotency: same id + same content returns the stored event; across reopen too', async () => {
    const dir = fresh();
    let ledger = await openNew(dir);
    const first = await ledger.append({ kind: 'k', payload: { x: 1 }, id: 'order-1' });
    const again = await ledger.append({ kind: 'k', payload: { x: 1 }, id: 'order-1' });
    expect(again).toEqual(first);
    await ledger.close();
    ledger = await Ledger.open({ dir });
    expect(await ledger.append({ kind: 'k', payload: { x: 1 }, id: 'order-1' })).toEqual(first);
    expect(await codeOf(ledger.append({ kind: 'k', payload: { x: 2 }, id: 'order-1' }))).toBe('IDEMPOTENCY_CONFLICT');
    expect(await codeOf(ledger.append({ kind: 'k', payload: { x: 1 }, id: 'order-1', at: '2020-01-01T00:00:00Z' }))).toBe('IDEMPOTENCY_CONFLICT');
    expect(jsonlLines(dir)).toHaveLength(1);
    await ledger.close();
  });

  it('signs with the ledger signer; the key joins a new keyring; a retired key is refused', async () => {
    const dir = fresh();
    const key = generateSigningKey({ name: 'k1' });
    let ledger = await openNew(dir, { signer: key, requireSignatures: true });
    const ev = await ledger.append({ kind: 'k', payload: 1 });
    expect(ev.sig?.kid).toBe(key.kid);
    await ledger.close();
    const stranger = generateSigningKey({ name: 'k2' });
    await expect(Ledger.open({ dir, signer: stranger })).rejects.toMatchObject({ code: 'UNKNOWN_KEY' });
    ledger = await Ledger.open({ dir, signer: key });
    writerOf(ledger).files.keyring!.retire(key.kid, { seq: 2, at: '2100-01-01T00:00:00Z' });
    await ledger.append({ kind: 'k', payload: 2 });
    expect(await codeOf(ledger.append({ kind: 'k', payload: 3 }))).toBe('KEY_NOT_VALID');
    await ledger.close();
    ledger = await Ledger.open({ dir, requireSignatures: true });
    expect(await codeOf(ledger.append({ kind: 'k', payload: 4 }))).toBe('INVALID_EVENT');
    await ledger.close();
  });

  it('reads back by seq, id and query', async () => {
    const dir = fresh();
    const ledger = await openNew(dir);
    await ledger.appendBatch([
      { kind: 'a', actor: 'u1', payload: 1, at: '2026-01-01T00:00:00Z' },
      { kind: 'b', actor: 'u2', payload: 2, at: '2026-01-02T00:00:00Z' },
      { kind: 'a', actor: 'u2', payload: 3, at: '2026-01-03T00:00:00Z' },
    ]);
    expect(ledger.get(1)?.payload).toBe(2);
    expect(ledger.get(9)).toBeUndefined();
    expect([...ledger.events({ kind: 'a' })].map((e) => e.seq)).toEqual([0, 2]);
    expect([...ledger.events({ actor: 'u2', fromSeq: 2 })].map((e) => e.seq)).toEqual([2]);
    expect([...ledger.events({ fromAt: '2026-01-02T00:00:00Z' })].map((e) => e.seq)).toEqual([1, 2]);
    expect([...ledger.events({ limit: 1 })]).toHaveLength(1);
    const rows = await ledger.query.selectFrom('events').select(['seq', 'kind']).where('kind', '=', 'b').execute();
    expect(rows).toEqual([{ seq: 1, kind: 'b' }]);
    await ledger.close();
  });

  it('a closed ledger refuses appends; close waits for queued ones', async () => {
    const dir = fresh();
    const ledger = await openNew(dir);
    const pending = ledger.append({ kind: 'k', payload: 1 });
    await ledger.close();
    expect((await pending).seq).toBe(0);
    expect(await codeOf(ledger.append({ kind: 'k', payload: 2 }))).toBe('LEDGER_CLOSED');
  });
});
