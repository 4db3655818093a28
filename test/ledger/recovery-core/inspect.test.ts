// spec §14.2 inspect mode (used by doctor and verify): what a writable open would replay, move
// aside or refuse, found without writing. Cases of src/ledger/reconcile.ts `inspect` that no
// other test reached (mutation testing: mutate/recovery.*).
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../../src/ledger/ledger.js';
import { NODE_FILE_IO, type FileIO } from '../../../src/store/file-io.js';
import {
  appendLines, appendRaw, eventAfter, events, folderWith, lineOf, removeFolders, rollBackWatermark, snapshot, withDb, type Folder,
} from './folder.js';

afterEach(removeFolders);

async function inspectFolder(f: Folder) {
  const before = snapshot(f);
  const ro = await Ledger.open({ dir: f.dir, readOnly: true, keyring: f.keyring });
  const inspection = ro.inspection!;
  const report = ro.lastReconcile;
  await ro.close();
  expect(snapshot(f)).toEqual(before);
  return { inspection, report };
}

describe('inspect mode (spec §14.2)', () => {
  it('counts valid lines past the watermark as pending, with no problem', async () => {
    const f = await folderWith(3);
    const e3 = eventAfter(events(f)[2]);
    appendLines(f, [lineOf(e3), lineOf(eventAfter(e3))]);
    const { inspection, report } = await inspectFolder(f);
    expect(inspection).toEqual({ pendingLines: 2, tampered: [], problems: [] });
    expect(report).toMatchObject({ before: { seq: 2 }, after: { seq: 2 }, replayed: 0, alreadyPresent: 0, restored: [] });
    // and a writable open replays exactly those
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.replayed).toBe(2);
    await l.close();
  });

  it('reports a malformed (not torn) tail with its offset and length, and no problem when nothing valid follows', async () => {
    const f = await folderWith(3);
    const e3 = eventAfter(events(f)[2]);
    appendLines(f, [lineOf(e3)]);
    const at = appendRaw(f, 'garbage\n{"also":"bad"}\n');
    const { inspection } = await inspectFolder(f);
    expect(inspection).toEqual({
      pendingLines: 1, tampered: [], problems: [],
      tornTail: { offset: at, length: 23, code: 'MALFORMED_LINE', reason: expect.stringMatching(/not valid JSON/) },
    });
  });

  it('reports a forked, gapped, re-hashed or non-UTF-8 line with the code a writable open gives it', async () => {
    // utf8: a NUL byte in a payload string turned into 0xff, which no UTF-8 sequence starts with
    const cases: [string, (f: Folder) => Buffer, string, RegExp][] = [
      ['fork', (f) => Buffer.from(lineOf(eventAfter(events(f)[2], { prev: 'a'.repeat(64) })) + '\n'), 'CHAIN_BROKEN', /does not continue the chain/],
      ['gap', (f) => Buffer.from(lineOf(eventAfter(events(f)[2], { seq: 4 })) + '\n'), 'SEQ_GAP', /does not continue the chain \(expected seq 3\)/],
      ['seal', (f) => Buffer.from(lineOf(eventAfter(events(f)[2])).replace('"i":3', '"i":8') + '\n'), 'SEAL_MISMATCH', /hash does not match/],
      ['utf8', (f) => Buffer.from(Buffer.from(lineOf(eventAfter(events(f)[2], { payload: "abc" })).replace("abc", "a\u0000c") + "\n").map((b) => (b === 0 ? 0xff : b))), 'MALFORMED_LINE', /not valid UTF-8/],
    ];
    for (const [name, make, code, reason] of cases) {
      const f = await folderWith(3);
      const bytes = make(f);
      const at = appendRaw(f, bytes);
      const { inspection } = await inspectFolder(f);
      expect(inspection, name).toEqual({ pendingLines: 0, tampered: [], problems: [], tornTail: { offset: at, length: bytes.length, code, reason: expect.stringMatching(reason) } });
      const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
      expect(l.lastReconcile.tornTail, name).toMatchObject({ offset: at, length: bytes.length, code });
      await l.close();
    }
  });

  it('a forged signature past the watermark is a problem (open refuses it), and nothing after it is pending', async () => {
    const f = await folderWith(3);
    const e3 = eventAfter(events(f)[2]);
    const forged = { ...eventAfter(e3), sig: e3.sig! };
    const at = appendLines(f, [lineOf(e3), lineOf(forged), lineOf(eventAfter(forged))]);
    const { inspection } = await inspectFolder(f);
    expect(inspection.pendingLines).toBe(1);
    expect(inspection.tornTail).toBeUndefined();
    expect(inspection.problems).toEqual([expect.stringMatching(/^INVALID_SIGNATURE: event seq 4: signature by /)]);
    const e = await Ledger.open({ dir: f.dir, keyring: f.keyring }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'INVALID_SIGNATURE', details: { seq: 4, offset: at + Buffer.byteLength(lineOf(e3)) + 1 } });
  });

  it('a damaged line with a valid event after it is a problem (LEDGER_CORRUPT), as open would refuse', async () => {
    const f = await folderWith(3);
    const e3 = eventAfter(events(f)[2]);
    const at = appendLines(f, ['garbage', lineOf(e3)]);
    const { inspection } = await inspectFolder(f);
    expect(inspection.tornTail).toMatchObject({ offset: at, code: 'MALFORMED_LINE' });
    expect(inspection.problems).toEqual([expect.stringMatching(new RegExp(`^LEDGER_CORRUPT: events.jsonl is damaged at byte ${at} .*seq 3`))]);
  });

  it('a torn fragment is reported with its length', async () => {
    const f = await folderWith(2);
    const at = appendRaw(f, '{"at":');
    const { inspection } = await inspectFolder(f);
    expect(inspection.tornTail).toEqual({ offset: at, length: 6, code: 'TORN_LINE', reason: 'incomplete last line' });
  });

  it('rows past the end of the valid tail are SQLITE_AHEAD; rows the pending lines cover are not', async () => {
    const f = await folderWith(5);
    rollBackWatermark(f, 2);
    expect((await inspectFolder(f)).inspection).toEqual({ pendingLines: 2, tampered: [], problems: [] });
    withDb(f, (db) => db.prepare("INSERT INTO events (seq, id, at, kind, actor, hash, kid, line, offset) VALUES (6, 'ghost', 'x', 'k', NULL, ?, NULL, '{}', 9999)").run('f'.repeat(64)));
    const { inspection } = await inspectFolder(f);
    expect(inspection.pendingLines).toBe(2);
    expect(inspection.problems).toEqual(['SQLITE_AHEAD: ledger.db holds events up to seq 6 that events.jsonl lacks']);
  });

  it('a row past the watermark holding a different event than its JSONL line is a problem (MIRROR_CONFLICT), as open refuses it', async () => {
    const f = await folderWith(5);
    rollBackWatermark(f, 2); // rows 3 and 4 stay, past the watermark
    const evs = events(f);
    const fork3 = eventAfter(evs[2], { payload: { i: 9 } });
    const ls = fs.readFileSync(f.jsonl, 'utf8').split('\n').slice(0, 3);
    fs.writeFileSync(f.jsonl, [...ls, lineOf(fork3), lineOf(eventAfter(fork3))].join('\n') + '\n');
    const { inspection } = await inspectFolder(f);
    expect(inspection.pendingLines).toBe(0);
    expect(inspection.tornTail).toBeUndefined();
    // rows 3 and 4 are events JSONL lacks (it holds others at those seqs)
    expect(inspection.problems).toEqual([
      'MIRROR_CONFLICT: seq 3: ledger.db holds a different event than events.jsonl',
      'SQLITE_AHEAD: ledger.db holds events up to seq 4 that events.jsonl lacks',
    ]);
    await expect(Ledger.open({ dir: f.dir, keyring: f.keyring })).rejects.toMatchObject({ code: 'MIRROR_CONFLICT', details: { seq: 3, jsonlHash: fork3.hash, sqliteHash: evs[3]!.hash } });
  });

  it('a valid line past the watermark whose id a row already has is a problem (MIRROR_CONFLICT), as open refuses it', async () => {
    const f = await folderWith(3);
    const e3 = eventAfter(events(f)[2]);
    appendLines(f, [lineOf(e3), lineOf(eventAfter(e3, { id: 'ev-1' }))]);
    const { inspection } = await inspectFolder(f);
    expect(inspection.pendingLines).toBe(1);
    expect(inspection.problems).toEqual(['MIRROR_CONFLICT: seq 4: id ev-1 is already used by seq 1']);
    await expect(Ledger.open({ dir: f.dir, keyring: f.keyring })).rejects.toMatchObject({ code: 'MIRROR_CONFLICT', details: { seq: 4, id: 'ev-1', otherSeq: 1 } });
  });

  it('an OS error reading events.jsonl fails the read-only open with its errno; it is not reported as a finding', async () => {
    const f = await folderWith(3);
    const io: FileIO = {
      ...NODE_FILE_IO,
      read() {
        throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      },
    };
    await expect(Ledger.open({ dir: f.dir, readOnly: true, keyring: f.keyring, io })).rejects.toMatchObject({ code: 'EIO' });
  });

  it('a short events.jsonl is SQLITE_AHEAD and nothing is read past it', async () => {
    const f = await folderWith(3);
    fs.truncateSync(f.jsonl, fs.statSync(f.jsonl).size - 2);
    const { inspection } = await inspectFolder(f);
    expect(inspection.pendingLines).toBe(0);
    expect(inspection.tornTail).toBeUndefined();
    expect(inspection.problems).toEqual([expect.stringMatching(/^SQLITE_AHEAD: events.jsonl is \d+ bytes but ledger.db mirrors it up to byte \d+ \(seq 2\)$/)]);
  });
});
