// checkpoints.jsonl (spec §12.5) and witness.jsonl (§20.10) after a crash mid-append: readers skip
// the torn last line, and the next append writes over it. Found by the simulated-crash suite: the
// next checkpoint was appended after the fragment, the two made one line that is no record, and
// from then on verify (and every checkpoint) refused the file as LEDGER_CORRUPT.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { checkpointRecordsNewestFirst, readCheckpointRecords } from '../../src/ledger/checkpoint-log.js';
import { appendWitnessRecord, readWitnessLog, type WitnessRecord } from '../../src/ledger/witness-log.js';
import { payloadRule } from '../../src/policy/rules.js';
import { NODE_FILE_IO, type FileIO } from '../../src/store/file-io.js';
import { ledgerDir, openNew, type Fixture } from './ledger-helpers.js';

const fixtures: Fixture[] = [];
afterEach(() => {
  for (const f of fixtures.splice(0)) f.cleanup();
});

/** What a crash `keep` bytes into appending `line` leaves at the end of `file`. */
function tornAppend(file: string, line: string, keep: number): void {
  fs.appendFileSync(file, line.slice(0, keep));
}

describe('record files after a crash mid-append', () => {
  it('checkpoints.jsonl: the next checkpoint writes over a torn record; every reader and verify accept the file', async () => {
    const f = ledgerDir();
    fixtures.push(f);
    const key = generateSigningKey({ name: 'log-key' });
    const ledger = await openNew(f.dir, { signer: key });
    await ledger.appendBatch([{ kind: 'k', payload: 1 }, { kind: 'k', payload: 2 }]);
    await ledger.checkpoint();
    const file = path.join(f.dir, 'checkpoints.jsonl');
    const first = fs.readFileSync(file, 'utf8');
    for (const keep of [1, 40, first.length - 1]) {
      const before = fs.readFileSync(file, 'utf8');
      tornAppend(file, first, keep); // a record cut short, its "\n" included when keep = all but it
      expect(readCheckpointRecords(file)).toHaveLength(before.split('\n').length - 1);
      await ledger.append({ kind: 'k', payload: keep });
      await ledger.checkpoint();
      const text = fs.readFileSync(file, 'utf8');
      expect(text.startsWith(before), 'the records before the torn one are kept byte for byte').toBe(true);
      expect(text.endsWith('\n')).toBe(true);
    }
    await ledger.close();
    const records = readCheckpointRecords(file);
    expect(records.map((r) => r.size)).toEqual([2, 3, 4, 5]);
    expect([...checkpointRecordsNewestFirst(file)].map((r) => r.size)).toEqual([5, 4, 3, 2]);
    const report = await verifyLedger({ dir: f.dir });
    expect(report.problems).toEqual([]);
    expect(report.checkpoints).toEqual({ checked: 4, problems: 0 });
  });

  it('witness.jsonl: the next record writes over a torn one; no line is reported unreadable', () => {
    const f = ledgerDir();
    fixtures.push(f);
    fs.mkdirSync(f.dir, { recursive: true });
    const record = (size: number): WitnessRecord => ({
      size, root: 'ab'.repeat(32), note: `log\n${size}\nroot\n\n— log sig\n`, cosignatures: ['— witness c2ln'], witness: 'witness', at: '2026-12-01T00:00:00Z',
    });
    appendWitnessRecord(f.dir, record(1), NODE_FILE_IO);
    tornAppend(path.join(f.dir, 'witness.jsonl'), JSON.stringify(record(2)), 30);
    appendWitnessRecord(f.dir, record(3), NODE_FILE_IO);
    const lines = readWitnessLog(f.dir);
    expect(lines.map((l) => l.error ?? l.record!.size)).toEqual([1, 3]);
  });

  it('attack: a link swapped in between the checkpoint\'s read of checkpoints.jsonl and its append is not followed', async () => {
    const f = ledgerDir();
    fixtures.push(f);
    const key = generateSigningKey({ name: 'log-key' });
    const file = path.join(f.dir, 'checkpoints.jsonl');
    const target = path.join(path.dirname(f.dir), `${path.basename(f.dir)}-victim`);
    fs.writeFileSync(target, 'a file the ledger must never write\n');
    // The attacker wins the race: the link appears just as the append opens the file (the
    // derivation before it read the regular file through O_NOFOLLOW and saw nothing wrong).
    let armed = false;
    const io: FileIO = {
      ...NODE_FILE_IO,
      open(p, flags, mode) {
        if (armed && p === file) {
          armed = false;
          fs.rmSync(file, { force: true });
          fs.symlinkSync(target, file);
        }
        return NODE_FILE_IO.open(p, flags, mode);
      },
    };
    try {
      const ledger = await openNew(f.dir, { signer: key, io });
      await ledger.append({ kind: 'k', payload: 1 });
      await ledger.checkpoint();
      await ledger.append({ kind: 'k', payload: 2 });
      armed = true;
      await expect(ledger.checkpoint()).rejects.toMatchObject({ code: 'IO_ERROR', message: expect.stringContaining(`${file}: ELOOP`) });
      expect(armed, 'the append opened checkpoints.jsonl').toBe(false);
      expect(fs.readFileSync(target, 'utf8')).toBe('a file the ledger must never write\n');
      await ledger.close();
    } finally {
      fs.rmSync(target, { force: true });
    }
  });

  it('a link planted as checkpoints.jsonl after open is not followed: the checkpoint fails and the link target is untouched', async () => {
    const f = ledgerDir();
    fixtures.push(f);
    const key = generateSigningKey({ name: 'log-key' });
    const ledger = await openNew(f.dir, { signer: key });
    await ledger.append({ kind: 'k', payload: 1 });
    const target = path.join(path.dirname(f.dir), `${path.basename(f.dir)}-target`);
    fs.writeFileSync(target, 'not the ledger\'s\n');
    try {
      fs.symlinkSync(target, path.join(f.dir, 'checkpoints.jsonl'));
      await expect(ledger.checkpoint()).rejects.toMatchObject({ code: expect.stringMatching(/IO_ERROR|LEDGER_CORRUPT/) });
      expect(fs.readFileSync(target, 'utf8')).toBe('not the ledger\'s\n');
      await ledger.close();
    } finally {
      fs.rmSync(target, { force: true });
    }
  });

  it('attack: a link planted as quarantine.jsonl after open is not followed by the first quarantine', async () => {
    const f = ledgerDir();
    fixtures.push(f);
    const policy = [payloadRule('hold', 'q', () => 'held', 'quarantine')];
    const ledger = await openNew(f.dir, { policy });
    await ledger.append({ kind: 'k', payload: 1 });
    const file = path.join(f.dir, 'quarantine.jsonl');
    const target = path.join(path.dirname(f.dir), `${path.basename(f.dir)}-victim`);
    fs.writeFileSync(target, 'a file the ledger must never write\n');
    try {
      // Planted after the folder's check at open, before this writer's first quarantine opens the file.
      fs.symlinkSync(target, file);
      await expect(ledger.append({ kind: 'q', payload: 2 })).rejects.toMatchObject({ code: 'IO_ERROR', message: expect.stringContaining(`${file}: ELOOP`) });
      expect(fs.readFileSync(target, 'utf8')).toBe('a file the ledger must never write\n');
      await ledger.close().catch(() => undefined);
    } finally {
      fs.rmSync(target, { force: true });
    }
  });
});
