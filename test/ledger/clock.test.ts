// LedgerOptions.now is the ledger's only clock: event times, quarantine records and the key
// window checked when signing a checkpoint all follow it (none reads the system clock).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { payloadRule } from '../../src/policy/rules.js';
import { cleanupAll, fresh, openNew } from './ledger-helpers.js';

afterEach(cleanupAll);

const LATER = new Date('2030-06-01T12:00:00.000Z');
const now = () => new Date(LATER);

describe('the injected clock', () => {
  it('stamps quarantine records', async () => {
    const dir = fresh();
    const ledger = await openNew(dir, { now, policy: [payloadRule('hold', 'k', () => 'held for review', 'quarantine')] });
    await expect(ledger.append({ kind: 'k', payload: 1 })).rejects.toMatchObject({ code: 'POLICY_QUARANTINED' });
    await ledger.close();
    const [record] = fs.readFileSync(path.join(dir, 'quarantine.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(record.quarantinedAt).toBe(LATER.toISOString());
    expect(record.event.at).toBe(LATER.toISOString());
  });

  it('decides whether the checkpoint key is inside its window', async () => {
    const dir = fresh();
    const key = generateSigningKey({ name: 'future' });
    const keyring = new Keyring();
    keyring.add({ kid: key.kid, name: key.name, publicKey: key.publicKey, validFrom: '2030-01-01T00:00:00Z' });
    const ledger = await openNew(dir, { now, keyring, signer: key });
    await ledger.append({ kind: 'k', payload: 1 });
    // By the system clock the key is not valid yet; by the ledger's clock it is.
    await expect(ledger.checkpoint(key)).resolves.toMatch(/^sealed-ledger/);
    await ledger.close();
    const early = await openNew(dir, { now: () => new Date('2029-12-31T23:59:59Z'), keyring, signer: key });
    await expect(early.checkpoint(key)).rejects.toMatchObject({ code: 'KEY_NOT_VALID' });
    await early.close();
  });
});
