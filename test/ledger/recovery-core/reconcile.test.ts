// spec §8.2, §8.3, §14.2: the watermark anchor and tamper healing of src/ledger/reconcile.ts,
// each case a check that no other test reached (mutation testing: mutate/recovery.*).
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../../src/ledger/ledger.js';
import { countingIO } from '../ledger-helpers.js';
import {
  dropProjection, eventAfter, events, folderWith, KEY_A, lineOf, lines, rejection, removeFolders, rollBackWatermark, rowCount, snapshot, tamperEntries, tornFiles, withDb, type Folder,
} from './folder.js';

const allRows = (f: Folder) => withDb(f, (db) => db.prepare('SELECT * FROM events ORDER BY seq').all());

afterEach(removeFolders);

describe('the watermark anchor (spec §8.2)', () => {
  it('a one-event ledger whose only line was changed is refused (the check runs at watermark seq 0)', async () => {
    const f = await folderWith(1);
    const hash = events(f)[0]!.hash;
    fs.writeFileSync(f.jsonl, fs.readFileSync(f.jsonl, 'utf8').replace('"i":0', '"i":7'));
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'LEDGER_CORRUPT', details: { seq: 0, offset: 0, expectedHash: hash } });
  });

  it('the watermark line replaced by another validly sealed and signed event of the same seq and length is refused', async () => {
    const f = await folderWith(3);
    const evs = events(f);
    const ls = lines(f);
    const replaced = lineOf(eventAfter(evs[1], { payload: { i: 7 } }));
    expect(Buffer.byteLength(replaced)).toBe(Buffer.byteLength(ls[2]!));
    fs.writeFileSync(f.jsonl, [ls[0], ls[1], replaced].join('\n') + '\n');
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    const lineStart = Buffer.byteLength(ls[0]! + ls[1]!) + 2;
    expect(e).toMatchObject({ code: 'LEDGER_CORRUPT', details: { seq: 2, offset: lineStart, expectedHash: evs[2]!.hash } });
    expect(e.message).toContain(`event seq 2 at bytes ${lineStart}..${lineStart + Buffer.byteLength(ls[2]!) + 1}`);
  });

  it('a watermark whose seq was edited (its hash and bytes still those of a real line) is refused: nothing is cut', async () => {
    // Without the seq check the tail replay would start after "seq 3" at line 2, find seq 3 and
    // move it and every later event aside as a gapped tail.
    const f = await folderWith(5);
    const evs = events(f);
    rollBackWatermark(f, 2);
    withDb(f, (db) => db.exec('UPDATE watermark SET seq = 3'));
    const before = snapshot(f);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'LEDGER_CORRUPT', details: { seq: 3, expectedHash: evs[2]!.hash } });
    expect(snapshot(f)).toEqual(before);
  });

  it('the watermark line without its newline (the byte replaced) is refused', async () => {
    const f = await folderWith(2);
    const bytes = fs.readFileSync(f.jsonl);
    bytes[bytes.length - 1] = 0x20;
    fs.writeFileSync(f.jsonl, bytes);
    await expect(Ledger.open({ dir: f.dir, keyring: f.keyring })).rejects.toMatchObject({ code: 'LEDGER_CORRUPT', details: { seq: 1 } });
  });

  it('events.jsonl shorter than the watermark is SQLITE_AHEAD with both sizes', async () => {
    const f = await folderWith(2);
    const size = fs.statSync(f.jsonl).size;
    fs.truncateSync(f.jsonl, size - 1);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'SQLITE_AHEAD', details: { jsonlSize: size - 1, watermarkOffset: size, seq: 1 } });
  });

  it('a clean reopen neither reads past the watermark line nor fsyncs events.jsonl', async () => {
    const f = await folderWith(3);
    const io = countingIO();
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring, io });
    expect(io.syncs).toBe(0);
    expect(io.bytesRead).toBe(Buffer.byteLength(lines(f)[2]!) + 1);
    await l.close();
  });

  it('rows past the end of JSONL are refused with SQLITE_AHEAD naming both last seqs', async () => {
    const f = await folderWith(3);
    const ls = lines(f);
    withDb(f, (db) => {
      db.prepare("INSERT INTO events (seq, id, at, kind, actor, hash, kid, line, offset) VALUES (3, 'ghost', 'x', 'k', NULL, ?, NULL, '{}', ?)").run('f'.repeat(64), 999);
    });
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'SQLITE_AHEAD', details: { sqliteMaxSeq: 3, jsonlLastSeq: 2 } });
    expect(e.message).toContain('up to seq 3');
    expect(lines(f)).toEqual(ls);
  });
});

describe('tamper healing (spec §8.3)', () => {
  it('a row touched by hand that still equals its line is cleared, not refused, and stays cleared', async () => {
    const f = await folderWith(4);
    withDb(f, (db) => db.exec('UPDATE events SET kind = kind WHERE seq IN (1, 2)'));
    expect(tamperEntries(f)).toEqual([{ seq: 1, op: 'update' }, { seq: 2, op: 'update' }]);
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.restored).toEqual([]);
    await l.close();
    expect(tamperEntries(f)).toEqual([]);
  });

  it('an edited row past the end of JSONL is refused with a typed error naming its seq', async () => {
    const f = await folderWith(3);
    withDb(f, (db) => {
      db.prepare("INSERT INTO events (seq, id, at, kind, actor, hash, kid, line, offset) VALUES (7, 'ghost', 'x', 'k', NULL, ?, NULL, '{}', 9999)").run('f'.repeat(64));
      db.exec("UPDATE events SET kind = 'edited' WHERE seq = 7");
    });
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'MIRROR_CONFLICT', details: { seqs: [7] } });
  });

  it('a row renumbered by hand (its id now at another seq) is refused with MIRROR_CONFLICT, not a raw SQLite error', async () => {
    const f = await folderWith(4);
    withDb(f, (db) => db.exec('UPDATE events SET seq = 70 WHERE seq = 2'));
    const before = snapshot(f);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'MIRROR_CONFLICT', details: { seqs: [2] } });
    expect(snapshot(f)).toEqual(before);
  });

  it('restoring a deleted row reads JSONL from the nearest intact row below it, not from the start (O(gap))', async () => {
    const f = await folderWith(40);
    withDb(f, (db) => db.exec('DELETE FROM events WHERE seq = 37'));
    const ls = lines(f);
    const io = countingIO();
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring, io });
    expect(l.lastReconcile.restored).toEqual([37]);
    await l.close();
    const fromLine37 = ls.slice(37).reduce((n, x) => n + Buffer.byteLength(x) + 1, 0);
    expect(io.bytesRead).toBe(fromLine37 + Buffer.byteLength(ls[39]!) + 1);
  });

  it('an edited row and a deleted row after it: the scan for the deleted one starts below the edited one', async () => {
    const f = await folderWith(5);
    withDb(f, (db) => {
      db.exec("UPDATE events SET actor = 'mallory' WHERE seq = 2");
      db.exec('DELETE FROM events WHERE seq = 3');
    });
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'MIRROR_CONFLICT', details: { seqs: [2] } });
    expect(e.message).toContain('at seq 2;');
  });

  it('adjacent deleted rows and a touched row below them are healed: each found from the nearest intact row', async () => {
    const f = await folderWith(8);
    withDb(f, (db) => {
      db.exec('UPDATE events SET kind = kind WHERE seq = 2');
      db.exec('DELETE FROM events WHERE seq IN (3, 4, 6)');
    });
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.restored).toEqual([3, 4, 6]);
    await l.close();
    const rows = withDb(f, (db) => db.prepare<[], { seq: number; line: string; offset: number }>('SELECT seq, line, offset FROM events ORDER BY seq').all());
    const ls = lines(f);
    let offset = 0;
    expect(rows.map((r) => [r.seq, r.line, r.offset])).toEqual(ls.map((line, seq) => {
      const row = [seq, line, offset];
      offset += Buffer.byteLength(line) + 1;
      return row;
    }));
    expect(tamperEntries(f)).toEqual([]);
    expect(rowCount(f)).toBe(8);
  });
});

describe('tamper healing: what a restored row holds and what a refusal names', () => {
  it('a deleted row is restored equal to the original in every column (signed, with an actor)', async () => {
    const f = await folderWith(4, { actor: 'alice' });
    const before = allRows(f);
    expect(before[2]).toMatchObject({ actor: 'alice', kid: KEY_A.kid });
    withDb(f, (db) => db.exec('DELETE FROM events WHERE seq = 2'));
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.restored).toEqual([2]);
    await l.close();
    expect(allRows(f)).toEqual(before);
  });

  it('a deleted row is restored equal to the original in every column (unsigned, no actor: NULLs)', async () => {
    const f = await folderWith(3, { signed: false });
    const before = allRows(f);
    expect(before[1]).toMatchObject({ actor: null, kid: null });
    withDb(f, (db) => db.exec('DELETE FROM events WHERE seq = 1'));
    const l = await Ledger.open({ dir: f.dir });
    expect(l.lastReconcile.restored).toEqual([1]);
    await l.close();
    expect(allRows(f)).toEqual(before);
  });

  it('the first rows deleted (no intact row below them): found by reading JSONL from its start', async () => {
    const f = await folderWith(4);
    const before = allRows(f);
    withDb(f, (db) => db.exec('DELETE FROM events WHERE seq IN (0, 1)'));
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.restored).toEqual([0, 1]);
    await l.close();
    expect(allRows(f)).toEqual(before);
    expect(tamperEntries(f)).toEqual([]);
  });

  it('two adjacent edited rows are both named, in order, in the message and the details', async () => {
    const f = await folderWith(5);
    withDb(f, (db) => db.exec("UPDATE events SET kind = 'edited' WHERE seq IN (2, 3)"));
    const before = snapshot(f);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'MIRROR_CONFLICT', details: { seqs: [2, 3] } });
    expect(e.message).toContain('at seq 2, 3;');
    expect(snapshot(f)).toEqual(before);
  });

  it('a deleted row found past a lower line the scan starts at (a row deleted with no tamper entry between)', async () => {
    // The trigger is dropped for the second delete, as an attacker who controls ledger.db could:
    // the scan for seq 3 then starts at the line of seq 2 and must read on past it.
    const f = await folderWith(5);
    const before = allRows(f);
    withDb(f, (db) => {
      db.exec('DELETE FROM events WHERE seq = 3');
      db.exec('DROP TRIGGER events_deleted');
      db.exec('DELETE FROM events WHERE seq = 2');
    });
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.restored).toEqual([3]);
    await l.close();
    expect(allRows(f).find((r) => (r as { seq: number }).seq === 3)).toEqual(before[3]);
  });

  it('a row JSONL lacks, inserted and then deleted by hand, leaves nothing to refuse: open succeeds', async () => {
    const f = await folderWith(3);
    withDb(f, (db) => {
      db.prepare("INSERT INTO events (seq, id, at, kind, actor, hash, kid, line, offset) VALUES (7, 'ghost', 'x', 'k', NULL, ?, NULL, '{}', 9999)").run('f'.repeat(64));
      db.exec('DELETE FROM events WHERE seq = 7');
    });
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.restored).toEqual([]);
    expect(l.headInfo().seq).toBe(2);
    await l.close();
    expect(rowCount(f)).toBe(3);
    expect(tamperEntries(f)).toEqual([]);
  });

  it('a row past the watermark deleted by hand is replayed from JSONL and its tamper entry cleared by that open', async () => {
    const f = await folderWith(5);
    const before = allRows(f);
    rollBackWatermark(f, 2); // rows 3 and 4 stay, past the watermark
    withDb(f, (db) => db.exec('DELETE FROM events WHERE seq = 4'));
    expect(tamperEntries(f)).toEqual([{ seq: 4, op: 'delete' }]);
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile).toMatchObject({ replayed: 1, alreadyPresent: 1, restored: [] });
    await l.close();
    expect(tamperEntries(f)).toEqual([]);
    expect(allRows(f)).toEqual(before);
  });

  it('a deleted row whose line is gone from under the watermark (the watermark moved to match) is LEDGER_CORRUPT, nothing healed', async () => {
    // An attacker who controls the folder removes line 2 of events.jsonl and shifts the watermark
    // with it, so the anchor still holds; healing the deleted row 2 finds no line for it.
    const f = await folderWith(5);
    const ls = lines(f);
    withDb(f, (db) => db.exec('DELETE FROM events WHERE seq = 2'));
    fs.writeFileSync(f.jsonl, ls.filter((_, i) => i !== 2).map((l) => l + '\n').join(''));
    const shift = Buffer.byteLength(ls[2]!) + 1;
    withDb(f, (db) => db.prepare('UPDATE watermark SET offset = offset - ?, line_start = line_start - ?').run(shift, shift));
    const before = snapshot(f);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'LEDGER_CORRUPT', details: { seq: 2, watermarkSeq: 4 } });
    expect(e.message).toContain('holds no event seq 2 where ledger.db places it');
    expect(snapshot(f)).toEqual(before);
  });
});

describe('tamper healing reads JSONL under the ledger\'s own limits and reports where it fails', () => {
  it('a deleted row of a line longer than the default limit is restored in a ledger created with a higher one', async () => {
    const f = await folderWith(0);
    fs.rmSync(f.dir, { recursive: true });
    const big = 'x'.repeat(1536 * 1024); // over the default 1 MiB payload limit
    const l0 = await Ledger.open({ dir: f.dir, create: true, keyring: f.keyring, signer: KEY_A, limits: { maxPayloadBytes: 2 * 1024 * 1024 } });
    await l0.appendBatch([{ kind: 'k', id: 'small', payload: 1 }, { kind: 'k', id: 'big', payload: big }, { kind: 'k', id: 'after', payload: 2 }]);
    await l0.close();
    const before = allRows(f);
    withDb(f, (db) => db.exec('DELETE FROM events WHERE seq = 1'));
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.restored).toEqual([1]);
    await l.close();
    expect(allRows(f)).toEqual(before);
  });

  it('a deleted row whose line under the watermark was changed: the typed error names the line\'s offset', async () => {
    const f = await folderWith(5);
    const ls = lines(f);
    withDb(f, (db) => db.exec('DELETE FROM events WHERE seq = 2'));
    const at = Buffer.byteLength(ls[0]! + ls[1]!) + 2;
    fs.writeFileSync(f.jsonl, [ls[0], ls[1], ls[2]!.replace('"i":2', '"i":7'), ls[3], ls[4]].join('\n') + '\n');
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'SEAL_MISMATCH', details: { offset: at } });
  });
});

describe('a deleted row at the watermark', () => {
  it('is restored from the line the anchor check has just read', async () => {
    const f = await folderWith(5);
    const before = allRows(f);
    withDb(f, (db) => db.exec('DELETE FROM events WHERE seq = 4'));
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.restored).toEqual([4]);
    await l.close();
    expect(allRows(f)).toEqual(before);
  });

  it('with the row below it moved past the watermark (triggers dropped): refused, not left missing', async () => {
    const f = await folderWith(5);
    withDb(f, (db) => {
      db.exec('DELETE FROM events WHERE seq = 4');
      db.exec('DROP TRIGGER events_updated');
      db.exec('UPDATE events SET offset = (SELECT offset FROM watermark) WHERE seq = 3');
    });
    const before = snapshot(f);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    expect(e).toMatchObject({ code: 'LEDGER_CORRUPT', details: { seq: 4, watermarkSeq: 4 } });
    expect(snapshot(f)).toEqual(before);
  });
});

describe('a damaged tail and the signed checkpoint floor (spec §7.3)', () => {
  async function checkpointedThenOneMore(): Promise<Folder> {
    const f = await folderWith(4);
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring, signer: KEY_A });
    await l.checkpoint(KEY_A); // covers 4 events
    await l.append({ kind: 'k', id: 'ev-4', payload: { i: 4 } });
    await l.close();
    dropProjection(f);
    return f;
  }

  it('valid events still covering exactly the checkpoint: the damaged line past it is moved aside', async () => {
    const f = await checkpointedThenOneMore();
    fs.truncateSync(f.jsonl, fs.statSync(f.jsonl).size - 10);
    const l = await Ledger.open({ dir: f.dir, keyring: f.keyring });
    expect(l.lastReconcile.tornTail).toMatchObject({ code: 'TORN_LINE' });
    expect(l.headInfo().seq).toBe(3);
    await l.close();
    expect(tornFiles(f)).toHaveLength(1);
  });

  it('one valid event fewer than the checkpoint covers: refused, nothing truncated or moved', async () => {
    const f = await checkpointedThenOneMore();
    const ls = lines(f);
    const cut = Buffer.byteLength(ls[4]!) + 1 + 10;
    fs.truncateSync(f.jsonl, fs.statSync(f.jsonl).size - cut);
    const bytes = fs.readFileSync(f.jsonl);
    const e = await rejection(Ledger.open({ dir: f.dir, keyring: f.keyring }));
    const offset = ls.slice(0, 3).reduce((n, x) => n + Buffer.byteLength(x) + 1, 0);
    const reason = `incomplete last line (${Buffer.byteLength(ls[3]!) + 1 - 10} bytes, no newline)`;
    expect(e).toMatchObject({ code: 'LEDGER_CORRUPT', details: { offset, lastValidSeq: 2, checkpointSize: 4, reason } });
    expect(e.message).toContain(`damaged at byte ${offset} (${reason}) and its valid events end at seq 2, but a signed checkpoint covers 4 events`);
    expect(fs.readFileSync(f.jsonl).equals(bytes)).toBe(true);
    expect(tornFiles(f)).toEqual([]);
  });
});
