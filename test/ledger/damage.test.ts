// spec §7.3: damage to history is refused, never "healed" by truncation; a ledger.db that is not
// a database is reported as corruption.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSealedLedgerError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { jsonlLines, signedLedger } from '../cli/fixtures.js';

describe('damaged stores', () => {
  it('open after a lost ledger.db must not cut acknowledged events out of events.jsonl at a corrupt middle line', async () => {
    // With ledger.db gone every event is past the watermark; a damaged event 2 of 5 followed by
    // valid events 3 and 4 is damage to history, not a torn write: open must refuse, not truncate.
    const f = await signedLedger(5);
    try {
      const ls = jsonlLines(f.dir);
      ls[2] = ls[2]!.replace('"n":2', '"n":7');
      fs.writeFileSync(path.join(f.dir, 'events.jsonl'), ls.join('\n') + '\n');
      fs.rmSync(path.join(f.dir, 'ledger.db'));
      fs.rmSync(path.join(f.dir, 'ledger.db-wal'), { force: true });
      fs.rmSync(path.join(f.dir, 'ledger.db-shm'), { force: true });
      const before = fs.readFileSync(path.join(f.dir, 'events.jsonl'));
      await expect(Ledger.open({ dir: f.dir })).rejects.toMatchObject({ code: 'LEDGER_CORRUPT', details: { followingSeq: 3 } });
      expect(fs.readFileSync(path.join(f.dir, 'events.jsonl'))).toEqual(before);
    } finally {
      f.cleanup();
    }
  });

  it('verifyLedger reports a ledger.db that is not a database with a typed error, not a raw SqliteError', async () => {
    // The CLI maps anything that is not a SealedLedgerError to INTERNAL (exit 70), so
    // `sealed-ledger verify` on a garbage ledger.db says "internal error" instead of "corrupt".
    const f = await signedLedger(3);
    try {
      for (const n of ['ledger.db-wal', 'ledger.db-shm']) fs.rmSync(path.join(f.dir, n), { force: true });
      fs.writeFileSync(path.join(f.dir, 'ledger.db'), 'not a database '.repeat(20));
      let error: unknown;
      try {
        const report = await verifyLedger({ dir: f.dir });
        expect(report.ok).toBe(false); // reporting it as a problem would do too
      } catch (e) {
        error = e;
      }
      if (error !== undefined) expect(isSealedLedgerError(error), `${(error as Error).name}: ${(error as Error).message}`).toBe(true);
    } finally {
      f.cleanup();
    }
  });
});
