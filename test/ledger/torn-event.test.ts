/**
 * A last line that lacks only its newline but is a whole, valid, chained and correctly signed
 * event is completed, not moved aside (spec §7.3); a torn tail is never cut below the size of
 * the last signed checkpoint. Was: with ledger.db lost and the final "\n" gone, open moved the
 * intact signed event to torn/ and the next append took its seq, forking a signed checkpoint.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { cleanupAll, fresh, jsonlLines } from './ledger-helpers.js';

afterEach(cleanupAll);

const key = generateSigningKey({ name: 'torn-test' });
const jsonl = (dir: string) => path.join(dir, 'events.jsonl');
const dropDb = (dir: string) => { for (const s of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, 'ledger.db' + s), { force: true }); };
const chop = (dir: string, n: number) => fs.truncateSync(jsonl(dir), fs.statSync(jsonl(dir)).size - n);

async function ledgerOf(n: number, checkpoint = false): Promise<{ dir: string; last: string }> {
  const dir = fresh();
  const l = await Ledger.open({ dir, create: true, signer: key });
  for (let i = 0; i < n; i++) await l.append({ kind: 'doc.edit', payload: { i } });
  if (checkpoint) await l.checkpoint(key);
  await l.close();
  return { dir, last: jsonlLines(dir).at(-1)! };
}

describe('torn last event', () => {
  it('ledger.db lost and the last byte of events.jsonl removed: open keeps the event and completes its line', async () => {
    const { dir, last } = await ledgerOf(5);
    const before = fs.readFileSync(jsonl(dir));
    dropDb(dir);
    chop(dir, 1);
    const l = await Ledger.open({ dir });
    expect(l.lastReconcile.tornTail).toBeUndefined();
    expect(l.headInfo().seq).toBe(4);
    const next = await l.append({ kind: 'doc.edit', payload: 'next' });
    expect(next.seq).toBe(5);
    await l.close();
    expect(fs.readFileSync(jsonl(dir)).subarray(0, before.length).equals(before)).toBe(true);
    expect(jsonlLines(dir)[4]).toBe(last);
    expect(fs.existsSync(path.join(dir, 'torn'))).toBe(false);
    expect((await verifyLedger({ dir })).ok).toBe(true);
  });

  it('the same damage under a writer whose ledger.db is intact: it refuses (SQLITE_AHEAD), never cuts or forks; a reopen keeps the event', async () => {
    const { dir } = await ledgerOf(3);
    const l = await Ledger.open({ dir, signer: key });
    chop(dir, 1);
    // Another process would see this; here the same file is shortened under the writer.
    const ev = await l.append({ kind: 'doc.edit', payload: 'after' }).catch((e: unknown) => e);
    await l.close().catch(() => undefined);
    // The writer refuses (its watermark is past the end), never cuts or forks: reopen heals.
    expect(ev).toMatchObject({ code: 'SQLITE_AHEAD' });
    dropDb(dir);
    const again = await Ledger.open({ dir });
    expect(again.headInfo().seq).toBe(2);
    await again.close();
  });

  it('a torn fragment that is not a whole event is still moved aside', async () => {
    const { dir } = await ledgerOf(3);
    dropDb(dir);
    chop(dir, 10);
    const l = await Ledger.open({ dir });
    expect(l.lastReconcile.tornTail?.code).toBe('TORN_LINE');
    expect(l.headInfo().seq).toBe(1);
    await l.close();
  });

  it('with a signed checkpoint covering the cut: open refuses to truncate below it, and append never forks it', async () => {
    const { dir } = await ledgerOf(4, true);
    const bytes = fs.readFileSync(jsonl(dir));
    dropDb(dir);
    chop(dir, 10); // the last event is now a fragment that no longer parses
    await expect(Ledger.open({ dir, signer: key })).rejects.toMatchObject({ code: 'LEDGER_CORRUPT', details: { checkpointSize: 4, lastValidSeq: 2 } });
    expect(fs.readFileSync(jsonl(dir)).equals(bytes.subarray(0, bytes.length - 10))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'torn'))).toBe(false);
  });

  it('with a signed checkpoint covering it, a completed last event keeps its seq: append continues after it', async () => {
    const { dir } = await ledgerOf(4, true);
    dropDb(dir);
    chop(dir, 1);
    const l = await Ledger.open({ dir, signer: key });
    expect((await l.append({ kind: 'doc.edit', payload: 'x' })).seq).toBe(4);
    await l.close();
    const v = await verifyLedger({ dir });
    expect(v.ok).toBe(true);
    expect(v.checkpoints).toEqual({ checked: 1, problems: 0 });
  });
});
