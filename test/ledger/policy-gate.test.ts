// spec §16: the policy gate. Reject and quarantine never reach either store; the parity rule is
// required and computed by the ledger from real evidence.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendEvent, appendSignedEvent } from '../../src/ledger/append.js';
import { allowKinds, payloadRule } from '../../src/policy/rules.js';
import { PARITY_INVARIANT_RULE_ID, assertMirrorable } from '../../src/policy/decision.js';
import { parityRule } from '../../src/policy/parity-rule.js';
import { mirrorPolicyDecisionTestAllow } from '../../src/testing.js';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { jsonlLines, cleanupAll, fresh, openNew, sqliteRows } from './ledger-helpers.js';

afterEach(cleanupAll);

describe('policy gate (spec §16)', () => {
  it('a caller decision without the parity rule is refused; nothing is written', async () => {
    const dir = fresh();
    const ledger = await openNew(dir);
    await expect(appendEvent(ledger, { kind: 'k', payload: 1 }, { outcome: 'allow', rules: [] })).rejects.toMatchObject({ code: 'PARITY_RULE_MISSING' });
    await expect(
      appendEvent(ledger, { kind: 'k', payload: 1 }, { outcome: 'allow', rules: [{ id: PARITY_INVARIANT_RULE_ID, outcome: 'reject', reason: 'drift' }] }),
    ).rejects.toMatchObject({ code: 'PARITY_VIOLATION' });
    expect(jsonlLines(dir)).toEqual([]);
    expect(sqliteRows(dir)).toEqual([]);
    const ok = await appendEvent(ledger, { kind: 'k', payload: 1 }, mirrorPolicyDecisionTestAllow());
    expect(ok.seq).toBe(0);
    const key = generateSigningKey();
    await ledger.close();
    const signed = await openNew(dir, { signer: key });
    expect((await appendSignedEvent(signed, { kind: 'k', payload: 2 }, key, mirrorPolicyDecisionTestAllow())).sig?.kid).toBe(key.kid);
    await signed.close();
  });

  it('a caller decision of reject or quarantine never reaches either store', async () => {
    const dir = fresh();
    const ledger = await openNew(dir);
    const parity = { id: PARITY_INVARIANT_RULE_ID, outcome: 'allow' as const };
    await expect(appendEvent(ledger, { kind: 'k', payload: 1 }, { outcome: 'reject', rules: [parity, { id: 'x', outcome: 'reject' }] })).rejects.toMatchObject({ code: 'POLICY_REJECTED' });
    await expect(appendEvent(ledger, { kind: 'k', payload: 1 }, { outcome: 'quarantine', rules: [parity, { id: 'x', outcome: 'quarantine' }] })).rejects.toMatchObject({ code: 'POLICY_QUARANTINED' });
    expect(jsonlLines(dir)).toEqual([]);
    expect(sqliteRows(dir)).toEqual([]);
    await ledger.close();
  });

  it('user rules: reject never stored; quarantine kept for review in quarantine.jsonl, seq not consumed', async () => {
    const dir = fresh();
    const policy = [
      allowKinds(['order.placed', 'order.flagged']),
      payloadRule('amount-limit', 'order.flagged', (p) => ((p as { amount: number }).amount > 1000 ? 'amount over 1000' : null), 'quarantine'),
    ];
    const ledger = await openNew(dir, { policy });
    await ledger.append({ kind: 'order.placed', payload: { amount: 5 } });
    await expect(ledger.append({ kind: 'user.deleted', payload: {} })).rejects.toMatchObject({ code: 'POLICY_REJECTED' });
    await expect(ledger.append({ kind: 'order.flagged', payload: { amount: 5000 } })).rejects.toMatchObject({ code: 'POLICY_QUARANTINED' });
    const next = await ledger.append({ kind: 'order.flagged', payload: { amount: 10 } });
    expect(next.seq).toBe(1);
    expect(jsonlLines(dir)).toHaveLength(2);
    await ledger.flush();
    expect(sqliteRows(dir)).toHaveLength(2);
    const q = fs.readFileSync(path.join(dir, 'quarantine.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(q).toHaveLength(1);
    expect(q[0].event.payload).toEqual({ amount: 5000 });
    expect(q[0].decision.outcome).toBe('quarantine');
    expect(q[0].decision.rules.map((r: { id: string }) => r.id)).toContain(PARITY_INVARIANT_RULE_ID);
    await ledger.close();
  });

  it('a batch with one rejected event writes nothing', async () => {
    const dir = fresh();
    const ledger = await openNew(dir, { policy: [allowKinds(['ok'])] });
    await expect(ledger.appendBatch([{ kind: 'ok', payload: 1 }, { kind: 'no', payload: 2 }])).rejects.toMatchObject({ code: 'POLICY_REJECTED' });
    expect(jsonlLines(dir)).toEqual([]);
    await ledger.close();
  });

  it('the parity rule is computed from evidence: a JSONL end that disagrees with the watermark rejects', () => {
    const agree = parityRule({ jsonl: { size: 10, lastSeq: 0, lastHash: 'a' }, sqlite: { offset: 10, seq: 0, hash: 'a' } });
    expect(agree.outcome).toBe('allow');
    expect(parityRule({ jsonl: { size: 11, lastSeq: 0, lastHash: 'a' }, sqlite: { offset: 10, seq: 0, hash: 'a' } }).outcome).toBe('reject');
    expect(parityRule({ jsonl: { size: 10, lastSeq: 1, lastHash: 'a' }, sqlite: { offset: 10, seq: 0, hash: 'a' } }).outcome).toBe('reject');
    expect(parityRule({ jsonl: { size: 10, lastSeq: 0, lastHash: 'b' }, sqlite: { offset: 10, seq: 0, hash: 'a' } }).outcome).toBe('reject');
    expect(() => assertMirrorable({ outcome: 'allow', rules: [parityRule({ jsonl: { size: 1, lastSeq: 0, lastHash: 'a' }, sqlite: { offset: 0, seq: -1, hash: 'a' } })] })).toThrow(/parity/);
  });
});
