/**
 * Regression test for a finding of the crash and tamper suites, fixed in src.
 * Was: QuarantineFile.add appends at the end of quarantine.jsonl without looking at its last
 * byte. After a crash in the middle of a quarantine write (a record without its newline), the
 * next quarantined record is glued to that fragment: one unreadable line, and a record the caller
 * was told about (POLICY_QUARANTINED) cannot be read back. The fix: end (or move aside) a torn last
 * line before appending, as events.jsonl does.
 * Found by the simulated crash suite (quarantine-kept).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { payloadRule } from '../../src/policy/rules.js';
import { SimulatedCrash } from '../../src/testing.js';
import { loggedIO } from './io-log.js';
import { cleanupFolders, freshFolder } from './bug-fixture.js';

afterEach(cleanupFolders);

it('a quarantined record is readable after an earlier quarantine write was cut short', async () => {
  const dir = freshFolder();
  const policy = [payloadRule('hold', 'q', () => 'held', 'quarantine')];
  const dying = loggedIO(dir, (e) => (e === 'write quarantine.jsonl' ? 40 : undefined));
  const first = await Ledger.open({ dir, create: true, io: dying.io, policy });
  await expect(first.append({ kind: 'q', id: 'q1', payload: 1 })).rejects.toBeInstanceOf(SimulatedCrash);

  const second = await Ledger.open({ dir, policy });
  await expect(second.append({ kind: 'q', id: 'q2', payload: 2 })).rejects.toMatchObject({ code: 'POLICY_QUARANTINED' });
  await second.close();
  const ids = fs.readFileSync(path.join(dir, 'quarantine.jsonl'), 'utf8').split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l).event.id as string];
    } catch {
      return [];
    }
  });
  expect(ids).toContain('q2');
});
