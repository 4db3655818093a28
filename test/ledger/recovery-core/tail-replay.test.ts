// spec §14.1, §7.3: what open does with lines past the watermark. Each case is a check of
// src/ledger/tail-replay.ts that no other test reached (mutation testing: mutate/recovery.*).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../../src/ledger/ledger.js';
import { replayJsonlIntoSqlite } from '../../../src/ledger/replay.js';
import { verifyLedger } from '../../../src/audit/verify-ledger.js';
import {
  appendLines, appendRaw, dropProjection, eventAfter, events, folderWith, KEY_A, KEY_OUTSIDE, keyringOf, lineOf, lines, rejection,
  removeFolders, rollBackWatermark, rowCount, snapshot, tornFiles, withDb,
} from './folder.js';

afterEach(removeFolders);

describe('signatures of lines past the watermark (spec §7.3: not a torn write)', () => {
  it('a chained, sealed line with a forged signature is refused with INVALID_SIGNATURE, its seq and offset; nothing changes', async () => {
    const f = await folderWith(3);
    const evs = events(f);
    const next = eventAfter(evs[2]);
    // The signature KEY_A made over another event: a valid signature, but not of this hash.
    const forged = { ...next, sig: eventAfter(evs[2], { payload: 'other' }).sig! };
    const at = appendLines(f, [lineOf(forged)]);
    const before = snapshot(f);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'INVALID_SIGNATURE', details: { seq: 3, offset: at, kid: KEY_A.kid } });
    expect(snapshot(f)).toEqual(before);
    expect(rowCount(f)).toBe(3);
  });

  it('a line signed by a key outside the keyring is refused with UNKNOWN_KEY, its seq and offset', async () => {
    const f = await folderWith(3);
    const at = appendLines(f, [lineOf(eventAfter(events(f)[2], { signer: KEY_OUTSIDE }))]);
    const before = snapshot(f);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'UNKNOWN_KEY', details: { seq: 3, offset: at } });
    expect(snapshot(f)).toEqual(before);
  });

  it('a line signed after its key was retired is refused with KEY_NOT_VALID, its seq and offset', async () => {
    const f = await folderWith(3);
    const at = appendLines(f, [lineOf(eventAfter(events(f)[2]))]);
    const keyring = keyringOf(KEY_A);
    keyring.retire(KEY_A.kid, { seq: 3, at: '2100-01-01T00:00:00Z' });
    const e = await rejection(Ledger.open({ dir: f.dir, keyring }));
    expect(e).toMatchObject({ code: 'KEY_NOT_VALID', details: { seq: 3, offset: at } });
    expect(lines(f)).toHaveLength(4);
  });

  it('with the projection lost, a forgery in the middle is refused before any row is kept', async () => {
    const f = await folderWith(4);
    const ls = lines(f);
    const evs = events(f);
    ls[2] = lineOf({ ...evs[2]!, sig: evs[1]!.sig! });
    fs.writeFileSync(f.jsonl, ls.join('\n') + '\n');
    dropProjection(f);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'INVALID_SIGNATURE', details: { seq: 2, offset: Buffer.byteLength(ls[0]! + ls[1]!) + 2 } });
    expect(fs.readFileSync(f.jsonl, 'utf8')).toBe(ls.join('\n') + '\n');
  });

  it('replay refuses a forged line too (it throws, it does not report a tail defect)', async () => {
    const f = await folderWith(2);
    appendLines(f, [lineOf(eventAfter(events(f)[1], { signer: KEY_OUTSIDE }))]);
    await expect(replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring })).rejects.toMatchObject({ code: 'UNKNOWN_KEY', details: { seq: 2 } });
    expect(rowCount(f)).toBe(2);
  });
});

describe('forked, gapped and damaged tails (spec §7.3)', () => {
  it('a last line with the next seq but the prev of a fork is moved aside (CHAIN_BROKEN), not mirrored', async () => {
    const f = await folderWith(3);
    const evs = events(f);
    const size = fs.statSync(f.jsonl).size;
    // Seq 3 of a history that forked at seq 1: correctly sealed and signed, wrong prev.
    const forkAt2 = eventAfter(evs[1], { payload: 'fork' });
    const line = lineOf(eventAfter(forkAt2));
    appendLines(f, [line]);
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.tornTail).toMatchObject({ code: 'CHAIN_BROKEN', offset: size, length: Buffer.byteLength(line) + 1 });
    expect(l.lastReconcile.tornTail!.reason).toMatch(/seq 3: prev [0-9a-f]{12}… does not match the hash of seq 2/);
    expect(l.lastReconcile.replayed).toBe(0);
    expect(l.headInfo().seq).toBe(2);
    await l.close();
    expect(fs.statSync(f.jsonl).size).toBe(size);
    expect(rowCount(f)).toBe(3);
    expect(fs.readFileSync(l.lastReconcile.tornTail!.savedTo, 'utf8')).toBe(line + '\n');
  });

  it('a last line that skips a seq but names the right prev is moved aside (SEQ_GAP), not mirrored', async () => {
    const f = await folderWith(3);
    const evs = events(f);
    const size = fs.statSync(f.jsonl).size;
    const line = lineOf(eventAfter(evs[2], { seq: 4, prev: evs[2]!.hash }));
    appendLines(f, [line]);
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.tornTail).toMatchObject({ code: 'SEQ_GAP', offset: size, length: Buffer.byteLength(line) + 1, reason: 'expected seq 3, found 4' });
    expect(l.headInfo().seq).toBe(2);
    await l.close();
    expect(rowCount(f)).toBe(3);
    expect(fs.statSync(f.jsonl).size).toBe(size);
  });

  it('a forked tail of two chained lines is damage to history: refused (LEDGER_CORRUPT naming the following seq), nothing truncated', async () => {
    const f = await folderWith(3);
    const evs = events(f);
    const fork3 = eventAfter(eventAfter(evs[1], { payload: 'fork' }));
    const fork4 = eventAfter(fork3);
    const at = appendLines(f, [lineOf(fork3), lineOf(fork4)]);
    const before = snapshot(f);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({
      code: 'LEDGER_CORRUPT',
      details: { offset: at, followingSeq: 4, followingOffset: at + Buffer.byteLength(lineOf(fork3)) + 1, reason: expect.stringMatching(/^seq 3: prev /) },
    });
    expect(e.message).toContain(`damaged at byte ${at}`);
    expect(e.message).toContain('valid event (seq 4');
    expect(snapshot(f)).toEqual(before);
  });

  it('several damaged lines and a fragment at the end are one torn tail, moved aside together', async () => {
    const f = await folderWith(3);
    const size = fs.statSync(f.jsonl).size;
    const tail = '{"not":"an event"}\n' + 'garbage\n' + '{"at":"2026-01-01T00:00:00Z","ha';
    appendRaw(f, tail);
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    const torn = l.lastReconcile.tornTail!;
    expect(torn).toMatchObject({ code: 'MALFORMED_LINE', offset: size, length: Buffer.byteLength(tail) });
    await l.close();
    expect(fs.readFileSync(torn.savedTo, 'utf8')).toBe(tail);
    expect(path.basename(torn.savedTo)).toMatch(new RegExp(`^events\\.jsonl\\.${size}\\.[0-9a-f]{16}\\.torn$`));
    expect(fs.statSync(f.jsonl).size).toBe(size);
    expect((await verifyLedger({ dir: f.dir }, { keyring: f.keyring, workers: 0 })).ok).toBe(true);
  });

  it('a damaged line with a valid event after it, past a lost projection, is refused with every detail', async () => {
    const f = await folderWith(4);
    const ls = lines(f);
    ls[1] = ls[1]!.replace('"i":1', '"i":8');
    fs.writeFileSync(f.jsonl, ls.join('\n') + '\n');
    dropProjection(f);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    const offset = Buffer.byteLength(ls[0]!) + 1;
    expect(e).toMatchObject({
      code: 'LEDGER_CORRUPT',
      details: { offset, followingSeq: 2, followingOffset: offset + Buffer.byteLength(ls[1]!) + 1, reason: expect.stringMatching(/hash does not match/) },
    });
  });

  it('reports the code of the first bad line: SEAL_MISMATCH for a re-hashed payload, MALFORMED_LINE for bad JSON or bad UTF-8', async () => {
    const cases: [string, (last: ReturnType<typeof events>[number]) => Buffer, string, RegExp][] = [
      ['seal', (last) => Buffer.from(lineOf(eventAfter(last)).replace('"i":3', '"i":9') + '\n'), 'SEAL_MISMATCH', /hash does not match its content/],
      ['json', () => Buffer.from('{"seq":3,\n'), 'MALFORMED_LINE', /not valid JSON/],
      ['utf8', () => Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]), 'MALFORMED_LINE', /^line is not valid UTF-8$/],
    ];
    for (const [name, make, code, reason] of cases) {
      const f = await folderWith(3);
      const size = fs.statSync(f.jsonl).size;
      const bytes = make(events(f)[2]!);
      appendRaw(f, bytes);
      const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
      expect(l.lastReconcile.tornTail, name).toMatchObject({ code, offset: size, length: bytes.length, reason: expect.stringMatching(reason) });
      await l.close();
      expect(fs.statSync(f.jsonl).size, name).toBe(size);
    }
  });

  it('a torn last line is reported with its length and byte count', async () => {
    const f = await folderWith(2);
    const size = fs.statSync(f.jsonl).size;
    appendRaw(f, '{"at":"2026');
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.tornTail).toMatchObject({ code: 'TORN_LINE', offset: size, length: 11, reason: 'incomplete last line (11 bytes, no newline)' });
    await l.close();
  });
});

describe('rows already past the watermark (spec §14.1, I1)', () => {
  it('rows equal to their JSONL lines are counted as already present, not inserted again', async () => {
    const f = await folderWith(5);
    rollBackWatermark(f, 2);
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile).toMatchObject({ replayed: 0, alreadyPresent: 2, before: { seq: 2 }, after: { seq: 4 } });
    await l.close();
    expect((await verifyLedger({ dir: f.dir }, { keyring: f.keyring, workers: 0 })).ok).toBe(true);
  });

  it('a row holding a different event than JSONL at that seq is refused (MIRROR_CONFLICT), never kept', async () => {
    const f = await folderWith(5);
    const evs = events(f);
    rollBackWatermark(f, 2);
    // JSONL past the watermark now holds another history (same seqs, validly chained and signed).
    const other3 = eventAfter(evs[2], { payload: 'other', id: 'other-3' });
    const other4 = eventAfter(other3, { id: 'other-4' });
    const ls = lines(f).slice(0, 3);
    fs.writeFileSync(f.jsonl, [...ls, lineOf(other3), lineOf(other4)].join('\n') + '\n');
    const before = snapshot(f);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'MIRROR_CONFLICT', details: { seq: 3, jsonlHash: other3.hash, sqliteHash: evs[3]!.hash } });
    expect(e.message).toContain('seq 3');
    expect(snapshot(f)).toEqual(before);
  });

  it('a line whose id another seq already uses is refused (MIRROR_CONFLICT naming both seqs), not a raw SQLite error', async () => {
    const f = await folderWith(3);
    const at = appendLines(f, [lineOf(eventAfter(events(f)[2], { id: 'ev-0' }))]);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'MIRROR_CONFLICT', details: { seq: 3, id: 'ev-0', otherSeq: 0 } });
    expect(e.message).toContain('id ev-0 is already used by seq 0');
    expect(fs.statSync(f.jsonl).size).toBe(at + Buffer.byteLength(lines(f)[3]!) + 1);
  });

  it('a replay into an empty ledger.db refuses a line whose id an earlier line used (MIRROR_CONFLICT), not a raw SQLite error, and keeps no row of it', async () => {
    const f = await folderWith(3);
    appendLines(f, [lineOf(eventAfter(events(f)[2], { id: 'ev-1' }))]);
    dropProjection(f);
    const e = await rejection(replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'MIRROR_CONFLICT', details: { seq: 3, id: 'ev-1', otherSeq: 1 } });
    expect(e.message).toContain('id ev-1 is already used by seq 1');
    // Into a missing ledger.db nothing is published (spec §14.3.1); into an empty one, no row.
    expect(fs.existsSync(f.sqlite)).toBe(false);
    fs.writeFileSync(f.sqlite, '');
    await rejection(replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring }));
    expect(rowCount(f)).toBe(0);
  });

  it('a replay that finds rows past the watermark keeps them and reports them as already present', async () => {
    const f = await folderWith(4);
    rollBackWatermark(f, 0);
    const r = await replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring });
    expect(r).toMatchObject({ scanned: 3, inserted: 0, alreadyPresent: 3, fromSeq: 0, toSeq: 3, errors: [] });
  });
});

describe('replay options (spec §14.3)', () => {
  it('from a non-empty watermark, commits and reports progress every commitEvery inserted rows, then once at the end', async () => {
    // A replay into an empty ledger.db is one transaction instead (bulk-replay.test.ts).
    const f = await folderWith(1);
    let prev = events(f)[0];
    const added = Array.from({ length: 5 }, () => (prev = eventAfter(prev)));
    appendLines(f, added.map(lineOf));
    const ends = lines(f).map((_, i, all) => all.slice(0, i + 1).reduce((n, l) => n + Buffer.byteLength(l) + 1, 0));
    const progress: [number, number][] = [];
    const r = await replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring, commitEvery: 2, onProgress: (done, total) => progress.push([done, total]) });
    expect(r).toMatchObject({ inserted: 5, fromSeq: 0 });
    const total = ends[5]!;
    expect(progress).toEqual([[ends[2], total], [ends[4], total], [total, total]]);
  });

  it('reports damage to history instead of throwing, and changes no byte of events.jsonl', async () => {
    const f = await folderWith(4);
    const ls = lines(f);
    ls[1] = 'not json';
    fs.writeFileSync(f.jsonl, ls.join('\n') + '\n');
    dropProjection(f);
    const before = fs.readFileSync(f.jsonl);
    const r = await replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring });
    expect(r.errors.map((e) => e.code)).toEqual(['MALFORMED_LINE', 'LEDGER_CORRUPT']);
    expect(r).toMatchObject({ inserted: 1, toSeq: 0 });
    expect(fs.readFileSync(f.jsonl)).toEqual(before);
  });
});

describe('tail replay without signature checks', () => {
  it('an unsigned line past the watermark is mirrored when the keyring does not require signatures', async () => {
    const f = await folderWith(2, { signed: false });
    appendLines(f, [lineOf(eventAfter(events(f)[1], { signer: null }))]);
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.replayed).toBe(1);
    await l.close();
  });

  it('without a keyring, signed lines are mirrored (signatures are checked by verify with outside keys)', async () => {
    const f = await folderWith(3);
    dropProjection(f);
    const r = await replayJsonlIntoSqlite({ dir: f.dir });
    expect(r).toMatchObject({ inserted: 3, errors: [] });
    expect(tornFiles(f)).toEqual([]);
    withDb(f, (db) => expect(db.prepare('SELECT count(*) AS n FROM events WHERE kid IS NOT NULL').get()).toEqual({ n: 3 }));
  });
});
