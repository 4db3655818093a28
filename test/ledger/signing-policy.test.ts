/**
 * A signing policy recorded in ledger.json (spec §7.1) and the §3.1.1 limits are enforced on
 * every path that reads events.jsonl, not only on append. The attack: the seal does not cover
 * `sig`, so an attacker who can write the folder (but holds no key) strips a signature or
 * hand-seals a correctly chained unsigned event and appends it; reconcile used to mirror it and
 * verify used to pass it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { canonicalize } from '../../src/format/canonical.js';
import type { SealedEvent } from '../../src/format/event.js';
import { encodeLine, sealEvent } from '../../src/format/seal.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { replayJsonlIntoSqlite } from '../../src/ledger/replay.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { SealedLedgerError } from '../../src/errors.js';
import { cleanupAll, fresh, jsonlLines, sqliteRows } from './ledger-helpers.js';

afterEach(cleanupAll);

const jsonlOf = (dir: string) => path.join(dir, 'events.jsonl');

async function signedPolicyLedger(n: number): Promise<string> {
  const dir = fresh();
  const key = generateSigningKey({ name: 'k' });
  const l = await Ledger.open({ dir, create: true, signer: key, requireSignatures: true });
  for (let i = 0; i < n; i++) await l.append({ kind: 'doc.edit', payload: { i } });
  await l.close();
  return dir;
}

function lastEvent(dir: string): SealedEvent {
  return JSON.parse(jsonlLines(dir).at(-1)!) as SealedEvent;
}

/** A correctly chained, correctly sealed, unsigned event after the last line. */
function appendForgery(dir: string, payload: unknown = 'forged'): SealedEvent {
  const last = lastEvent(dir);
  const ev = sealEvent({ kind: 'doc.edit', payload: payload as never, at: last.at }, { seq: last.seq + 1, prev: last.hash });
  fs.appendFileSync(jsonlOf(dir), encodeLine(ev, canonicalize(ev.payload)) + '\n');
  return ev;
}

async function openError(options: Parameters<typeof Ledger.open>[0]): Promise<SealedLedgerError> {
  try {
    const l = await Ledger.open(options);
    await l.close();
  } catch (e) {
    if (e instanceof SealedLedgerError) return e;
    throw e;
  }
  throw new Error('open succeeded');
}

describe('persistent signing policy', () => {
  it('is recorded in ledger.json by a create with requireSignatures', async () => {
    const dir = await signedPolicyLedger(1);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'ledger.json'), 'utf8'))).toMatchObject({ signaturesRequiredFrom: 0 });
  });

  it('a hand-sealed unsigned event appended to events.jsonl: open refuses naming the seq, never mirrors it; verify reports it', async () => {
    const dir = await signedPolicyLedger(5);
    const forged = appendForgery(dir);
    const bytes = fs.readFileSync(jsonlOf(dir));
    for (const options of [{ dir }, { dir, requireSignatures: true }]) {
      const e = await openError(options);
      expect(e.code).toBe('SIGNATURE_REQUIRED');
      expect(e.details.seq).toBe(forged.seq);
    }
    expect(sqliteRows(dir).map((r) => r.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(fs.readFileSync(jsonlOf(dir)).equals(bytes)).toBe(true);
    const v = await verifyLedger({ dir });
    expect(v.ok).toBe(false);
    expect(v.signaturesRequiredFrom).toBe(0);
    expect(v.problems.map((p) => `${p.code}@${p.seq}`)).toEqual([`SIGNATURE_REQUIRED@${forged.seq}`]);
  });

  it('a signature stripped from a line, with ledger.db lost: open and replay refuse naming the seq', async () => {
    const dir = await signedPolicyLedger(4);
    const lines = jsonlLines(dir);
    const ev = JSON.parse(lines[2]!) as SealedEvent;
    delete ev.sig;
    lines[2] = encodeLine(ev, canonicalize(ev.payload));
    fs.writeFileSync(jsonlOf(dir), lines.join('\n') + '\n');
    for (const s of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, 'ledger.db' + s), { force: true });
    const v = await verifyLedger({ dir });
    expect(v.problems.map((p) => `${p.code}@${p.seq}`)).toEqual(['SIGNATURE_REQUIRED@2']);
    const e = await openError({ dir });
    expect([e.code, e.details.seq]).toEqual(['SIGNATURE_REQUIRED', 2]);
    for (const s of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, 'ledger.db' + s), { force: true });
    await expect(replayJsonlIntoSqlite({ dir })).rejects.toMatchObject({ code: 'SIGNATURE_REQUIRED', details: { seq: 2 } });
  });

  it('an existing ledger opts in from its next seq: older unsigned events stay valid, later ones are refused', async () => {
    const dir = fresh();
    const l = await Ledger.open({ dir, create: true });
    for (let i = 0; i < 3; i++) await l.append({ kind: 'doc.edit', payload: i });
    expect(await l.requireSignaturesFromNow()).toBe(3);
    expect(await l.requireSignaturesFromNow()).toBe(3);
    await expect(l.append({ kind: 'doc.edit', payload: 'x' })).rejects.toMatchObject({ code: 'INVALID_EVENT' });
    await l.close();
    expect((await verifyLedger({ dir })).ok).toBe(true);
    appendForgery(dir);
    expect((await openError({ dir })).details.seq).toBe(3);
    expect((await verifyLedger({ dir })).problems.map((p) => `${p.code}@${p.seq}`)).toEqual(['SIGNATURE_REQUIRED@3']);
  });

  it('removing the flag from ledger.json is not caught locally; a policy pinned outside the folder (verify requireSignatures) still is', async () => {
    const dir = await signedPolicyLedger(3);
    const metaPath = path.join(dir, 'ledger.json');
    const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8')) as Record<string, unknown>;
    delete meta.signaturesRequiredFrom;
    fs.writeFileSync(metaPath, JSON.stringify(meta) + '\n');
    appendForgery(dir);
    // The documented limit (spec §7.1): the folder's own policy file is gone, so open mirrors it.
    await (await Ledger.open({ dir })).close();
    expect((await verifyLedger({ dir })).ok).toBe(true);
    const pinned = await verifyLedger({ dir }, { requireSignatures: true });
    expect(pinned.problems.map((p) => `${p.code}@${p.seq}`)).toEqual(['SIGNATURE_REQUIRED@3']);
  });
});

describe('limits of spec §3.1.1 on the read paths', () => {
  it('a line over the ledger limit past the watermark is reported and moved aside, never mirrored; verify names it', async () => {
    const dir = fresh();
    const l = await Ledger.open({ dir, create: true, limits: { maxPayloadBytes: 1024 } });
    await l.append({ kind: 'doc.edit', payload: 'ok' });
    await expect(l.append({ kind: 'doc.edit', payload: 'x'.repeat(2000) })).rejects.toMatchObject({ code: 'INVALID_EVENT' });
    await l.close();
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'ledger.json'), 'utf8'))).toMatchObject({ maxPayloadBytes: 1024 });
    const big = appendForgery(dir, 'x'.repeat(2000));
    const v = await verifyLedger({ dir });
    expect(v.problems.map((p) => `${p.code}@${p.seq}`)).toEqual([`MALFORMED_LINE@${big.seq}`]);
    expect(v.problems[0]!.message).toContain('1024-byte limit');
    const huge = 'y'.repeat(64 * 1024);
    fs.appendFileSync(jsonlOf(dir), `{"v":1,"payload":"${huge}"}\n`);
    const v2 = await verifyLedger({ dir }, { workers: 0 });
    expect(v2.problems.map((p) => p.code)).toEqual(['MALFORMED_LINE', 'MALFORMED_LINE']);
    expect(v2.problems[1]!.message).toContain('longer than the line limit');
    const o = await Ledger.open({ dir });
    expect(o.lastReconcile.tornTail?.code).toBe('MALFORMED_LINE');
    expect(o.headInfo().seq).toBe(0);
    await o.close();
    expect(sqliteRows(dir).map((r) => r.seq)).toEqual([0]);
  });

  it('a later open may lower the recorded limit, not raise it', async () => {
    const dir = fresh();
    await (await Ledger.open({ dir, create: true, limits: { maxPayloadBytes: 1024 } })).close();
    await expect(Ledger.open({ dir, limits: { maxPayloadBytes: 4096 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await (await Ledger.open({ dir, limits: { maxPayloadBytes: 512 } })).close();
  });
});
