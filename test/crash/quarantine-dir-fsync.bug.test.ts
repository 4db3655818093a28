/**
 * Regression test for a finding of the crash and tamper suites, fixed in src.
 * Was: the first quarantine creates quarantine.jsonl ('a') and fsyncs the file, not the folder:
 * the caller hears POLICY_QUARANTINED while a power cut can still lose the file's directory
 * entry, and with it the record spec §16.4 promises to keep for review. The fix: fsync the ledger
 * folder after creating quarantine.jsonl.
 * Found by the simulated crash suite (quarantine-kept).
 */
import { afterEach, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { payloadRule } from '../../src/policy/rules.js';
import { loggedIO } from './io-log.js';
import { cleanupFolders, freshFolder } from './bug-fixture.js';

afterEach(cleanupFolders);

it('the folder is fsynced after quarantine.jsonl is created, before the caller hears', async () => {
  const dir = freshFolder();
  const { io, log } = loggedIO(dir);
  const policy = [payloadRule('hold', 'q', () => 'held', 'quarantine')];
  const ledger = await Ledger.open({ dir, create: true, io, policy });
  const created = log.length;
  await expect(ledger.append({ kind: 'q', id: 'q1', payload: 1 })).rejects.toMatchObject({ code: 'POLICY_QUARANTINED' });
  await ledger.close();
  const after = log.slice(created);
  expect(after.findIndex((e) => e.startsWith('open quarantine.jsonl'))).toBeGreaterThan(-1);
  expect(after, after.join(' | ')).toContain('syncDir .');
});
