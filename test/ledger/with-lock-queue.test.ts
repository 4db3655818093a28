// spec §13.2: an operation under the writer lock (checkpoint, requireSignaturesFromNow, the CLI's
// key retirement) and the group commit share one SQLite connection. While the lock-holding
// operation waits for another process's lock, an append that arrives must queue behind it, not
// start a flush on the same connection: that flush's BEGIN would win the race, the operation's
// own BEGIN would then fail inside the flush's transaction and its rollback would throw away the
// flush's rows (and poison the ledger at the next commit).
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { signingKeyFromSeed } from '../../src/crypto/signing-key.js';
import { type Ledger, writerOf } from '../../src/ledger/ledger.js';
import { cleanupAll, fresh, jsonlLines, openNew, sqliteRows } from './ledger-helpers.js';

afterEach(cleanupAll);

const key = signingKeyFromSeed(Buffer.alloc(32, 9), 'lock-queue');
const turn = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Run `op` while another connection holds the writer lock; once `op` is polling for it (backed
 * off to its longest delay), start an append, let the append's flush make its first attempt at
 * the lock, then release the lock. Returns both outcomes.
 */
async function raceAppendAgainst<T>(dir: string, ledger: Ledger, op: () => Promise<T>) {
  const other = new Database(path.join(dir, 'ledger.db'));
  other.exec('BEGIN IMMEDIATE');
  const opDone = op().then((value) => ({ value }), (error: unknown) => ({ error }));
  await sleep(80); // op now polls every 25 ms
  const appended = ledger.append({ kind: 'late', payload: 'arrived while the lock was awaited' }).then(
    (event) => ({ event }),
    (error: unknown) => ({ error }),
  );
  await turn(); // the flush (if one starts) has tried the lock once and backs off 1 ms
  other.exec('COMMIT');
  other.close();
  return { op: await opDone, append: await appended };
}

async function seeded(extra = {}): Promise<{ dir: string; ledger: Ledger }> {
  const dir = fresh();
  const ledger = await openNew(dir, { signer: key, lockTimeoutMs: 5000, ...extra });
  for (let i = 0; i < 3; i++) await ledger.append({ kind: 'k', payload: i });
  await ledger.flush();
  return { dir, ledger };
}

/** The ledger still writes, both stores agree, and the folder verifies. */
async function stillSound(dir: string, ledger: Ledger, events: number): Promise<void> {
  await ledger.append({ kind: 'after', payload: null });
  await ledger.flush();
  expect(sqliteRows(dir).map((r) => r.line)).toEqual(jsonlLines(dir));
  expect(jsonlLines(dir)).toHaveLength(events + 1);
  await ledger.close();
  const report = await verifyLedger({ dir });
  expect(report.ok, JSON.stringify(report.problems?.slice(0, 3))).toBe(true);
}

describe('the writer lock and the commit queue (spec §13.2)', () => {
  for (const lag of [0, 5, 60_000]) {
    it(`checkpoint(): an append arriving while it waits for the lock queues behind it (projectionLagMs ${lag})`, async () => {
      for (let round = 0; round < 3; round++) {
        const { dir, ledger } = await seeded({ projectionLagMs: lag });
        const r = await raceAppendAgainst(dir, ledger, () => ledger.checkpoint());
        expect(r.op).not.toHaveProperty('error');
        expect(r.append).not.toHaveProperty('error');
        // The checkpoint ran first, on the three events before the append.
        expect(ledger.checkpoints().map((c) => c.size)).toEqual([3]);
        expect((r.append as { event: { seq: number } }).event.seq).toBe(3);
        await stillSound(dir, ledger, 4);
      }
    });
  }

  it('requireSignaturesFromNow(): the policy starts before an append that arrived while it waited', async () => {
    for (let round = 0; round < 3; round++) {
      const { dir, ledger } = await seeded();
      const r = await raceAppendAgainst(dir, ledger, () => ledger.requireSignaturesFromNow());
      expect(r.op).toEqual({ value: 3 });
      expect(r.append).not.toHaveProperty('error');
      expect((r.append as { event: { seq: number; sig?: unknown } }).event).toMatchObject({ seq: 3, sig: { kid: key.kid } });
      await stillSound(dir, ledger, 4);
    }
  });

  it("withLock (the CLI's key retirement runs in it): an append arriving meanwhile waits until it returns", async () => {
    for (let round = 0; round < 3; round++) {
      const { dir, ledger } = await seeded();
      const r = await raceAppendAgainst(dir, ledger, () => writerOf(ledger).withLock(() => ledger.headInfo().seq));
      expect(r.op).toEqual({ value: 2 });
      expect((r.append as { event: { seq: number } }).event.seq).toBe(3);
      await stillSound(dir, ledger, 4);
    }
  });

  it('a failing lock operation does not stop the appends queued behind it', async () => {
    const { dir, ledger } = await seeded();
    const r = await raceAppendAgainst(dir, ledger, () =>
      writerOf(ledger).withLock(() => {
        throw new Error('refused by the operation');
      }),
    );
    expect(r.op).toMatchObject({ error: { message: 'refused by the operation' } });
    expect((r.append as { event: { seq: number } }).event.seq).toBe(3);
    await stillSound(dir, ledger, 4);
  });
});
