// spec §17: what verify proves with and without keys and checkpoints obtained out of band. The
// attacks are the ones of an attacker who can write the ledger folder but holds no signing key.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { generateSigningKey, writeSigningKeyFile } from '../../src/crypto/signing-key.js';
import { Ledger } from '../../src/ledger/ledger.js';
import type { VerifyReport } from '../../src/audit/verify-ledger.js';
import { cli, ensureBuilt, expectOneErrorLine, lines } from './cli-harness.js';
import { type Fixture, jsonlLines, signedLedger, snapshot, sql } from './fixtures.js';

beforeAll(ensureBuilt);

let f: Fixture;
afterEach(() => f?.cleanup());

/** What an operator keeps off the host: the verifier key and a checkpoint note. */
function keepOffHost(f: Fixture): { vkeyFile: string; vkey: string; noteFile: string; keyringCopy: string } {
  const vkey = cli(['verifier-key', f.keyPath]).stdout.trim();
  const vkeyFile = path.join(f.root, 'trusted.txt');
  fs.writeFileSync(vkeyFile, `# the ledger's key, published\n${vkey}\n`);
  const note = cli(['checkpoint', f.dir, '--key', f.keyPath]);
  expect(note.code).toBe(0);
  const noteFile = path.join(f.root, 'checkpoint.note');
  fs.writeFileSync(noteFile, note.stdout);
  const keyringCopy = path.join(f.root, 'keyring-offhost.json');
  fs.copyFileSync(path.join(f.dir, 'keyring.json'), keyringCopy);
  return { vkeyFile, vkey, noteFile, keyringCopy };
}

describe('verify against keys and checkpoints obtained out of band (spec §17)', () => {
  it('attack: attacker key added, history rewritten from seq 150, checkpoints.jsonl deleted, rebuilt: 0 alone, 2 with --trusted-keys', async () => {
    f = await signedLedger(200);
    const off = keepOffHost(f);
    // The attacker: a key of its own in the folder's keyring, then history from seq 150 re-made.
    const attackerKey = path.join(f.root, 'attacker.json');
    writeSigningKeyFile(generateSigningKey({ name: 'mallory' }), attackerKey);
    expect(cli(['keys', 'add', f.dir, '--key', attackerKey]).code).toBe(0);
    fs.writeFileSync(path.join(f.dir, 'events.jsonl'), jsonlLines(f.dir).slice(0, 150).join('\n') + '\n');
    for (const p of ['ledger.db', 'ledger.db-wal', 'ledger.db-shm', 'checkpoints.jsonl']) fs.rmSync(path.join(f.dir, p), { force: true });
    const stdin = Array.from({ length: 50 }, (_, i) => JSON.stringify({ kind: 'doc.edit', actor: 'alice', payload: { n: 150 + i, rewritten: true } })).join('\n');
    expect(cli(['append', f.dir, '--key', attackerKey], { input: stdin }).code).toBe(0);

    // The folder vouches for itself: exit 0, even with --require-signatures, and it says so.
    for (const extra of [[], ['--require-signatures']]) {
      const r = cli(['verify', f.dir, ...extra]);
      expect(r.code, r.stderr).toBe(EXIT.OK);
      expect(r.stdout).toMatch(/^trust +the folder's own keyring.json$/m);
      expect(r.stdout).toMatch(/integrity against accidents, not against whoever can write the folder/);
      expect(r.stdout).toMatch(/truncated tail with no checkpoint or witness past it cannot be detected locally/);
    }
    const folderJson = JSON.parse(cli(['verify', f.dir, '--json']).stdout) as VerifyReport;
    expect(folderJson.trust).toMatchObject({ keys: 'folder', statement: expect.stringContaining("folder's own keyring") });

    // Keys from off the host: every event from seq 150 fails, exit 2; both file forms work.
    for (const trusted of [off.vkeyFile, off.keyringCopy]) {
      const r = cli(['verify', f.dir, '--trusted-keys', trusted, '--json']);
      expect(r.code).toBe(EXIT.TAMPERED);
      const report = JSON.parse(r.stdout) as VerifyReport;
      expect(report.trust.keys).toBe('trusted');
      const unknown = report.problems.filter((p) => p.code === 'UNKNOWN_KEY').map((p) => p.seq);
      expect(unknown).toEqual(Array.from({ length: 50 }, (_, i) => 150 + i));
    }
    const text = cli(['verify', f.dir, '--trusted-keys', off.vkeyFile]);
    expect(text.code).toBe(EXIT.TAMPERED);
    expect(expectOneErrorLine(text.stderr, 'TAMPERED')).toMatch(/UNKNOWN_KEY at seq 150/);

    // The checkpoint kept off the host: the rewritten ledger does not extend it.
    const c = cli(['verify', f.dir, '--checkpoint', off.noteFile, '--verifier-key', off.vkey, '--json']);
    expect(c.code).toBe(EXIT.TAMPERED);
    const cr = JSON.parse(c.stdout) as VerifyReport;
    expect(cr.problems).toContainEqual(expect.objectContaining({ code: 'CHECKPOINT_INCONSISTENT', message: expect.stringContaining('history was rewritten') }));
    expect(cr.trust.externalCheckpoints).toEqual([expect.objectContaining({ size: 200, consistent: false })]);
  });

  it('an honest ledger with its trusted keys and an external checkpoint: exit 0, and the report says what was proven', async () => {
    f = await signedLedger(120);
    const off = keepOffHost(f);
    const ledger = await Ledger.open({ dir: f.dir, signer: f.key });
    await ledger.appendBatch(Array.from({ length: 7 }, (_, i) => ({ kind: 'k', payload: i })));
    await ledger.close();
    const r = cli(['verify', f.dir, '--trusted-keys', off.vkeyFile, '--checkpoint', off.noteFile]);
    expect(r.code, r.stderr).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/^trust +keys given out of band \(--trusted-keys\)$/m);
    expect(r.stdout).toMatch(/external checkpoint of size 120: extended by this ledger/);
    const json = JSON.parse(cli(['verify', f.dir, '--trusted-keys', off.vkeyFile, '--checkpoint', off.noteFile, '--json']).stdout) as VerifyReport;
    expect(json.trust).toMatchObject({ keys: 'trusted', externalCheckpoints: [{ size: 120, consistent: true }] });
    // A note checked with a key that did not sign it is bad input, not a verdict on the ledger.
    const other = cli(['verifier-key', (() => {
      const p = path.join(f.root, 'other.json');
      writeSigningKeyFile(generateSigningKey({ name: 'other' }), p);
      return p;
    })()]).stdout.trim();
    const bad = cli(['verify', f.dir, '--checkpoint', off.noteFile, '--verifier-key', other]);
    expect(bad.code).toBe(EXIT.DATAERR);
    expectOneErrorLine(bad.stderr, 'UNKNOWN_KEY');
    expect(cli(['verify', f.dir, '--checkpoint', off.noteFile]).code).toBe(EXIT.USAGE);
  });

  it('a truncated tail is invisible to a local verify, and found with the checkpoint kept elsewhere', async () => {
    f = await signedLedger(100);
    const off = keepOffHost(f);
    fs.writeFileSync(path.join(f.dir, 'events.jsonl'), jsonlLines(f.dir).slice(0, 90).join('\n') + '\n');
    for (const p of ['ledger.db', 'ledger.db-wal', 'ledger.db-shm', 'checkpoints.jsonl']) fs.rmSync(path.join(f.dir, p), { force: true });
    expect(cli(['replay', f.dir]).code).toBe(0);
    expect(cli(['verify', f.dir, '--trusted-keys', off.vkeyFile]).code).toBe(EXIT.OK);
    const r = cli(['verify', f.dir, '--trusted-keys', off.vkeyFile, '--checkpoint', off.noteFile, '--json']);
    expect(r.code).toBe(EXIT.TAMPERED);
    expect((JSON.parse(r.stdout) as VerifyReport).problems).toContainEqual(
      expect.objectContaining({ code: 'CHECKPOINT_INCONSISTENT', message: expect.stringContaining('truncated or rolled back') }),
    );
  });

  it('stored checkpoints are checked only against trusted checkpoint keys', async () => {
    f = await signedLedger(30);
    keepOffHost(f);
    const other = path.join(f.root, 'other.txt');
    const otherKey = path.join(f.root, 'other.json');
    writeSigningKeyFile(generateSigningKey({ name: 'other' }), otherKey);
    fs.writeFileSync(other, cli(['verifier-key', otherKey]).stdout);
    const r = cli(['verify', f.dir, '--trusted-keys', other, '--json']);
    expect(r.code).toBe(EXIT.TAMPERED);
    const report = JSON.parse(r.stdout) as VerifyReport;
    expect(report.checkpoints).toEqual({ checked: 1, problems: 1 });
    expect(report.problems).toContainEqual(expect.objectContaining({ code: 'UNKNOWN_KEY', message: expect.stringContaining('checkpoint of size 30') }));
  });
});

describe('verify reads what ledger.db says about events.jsonl (spec §8.2, §8.3)', () => {
  it('20 lines truncated and their rows deleted: watermark past the end and 20 tamper records, exit 2, no rebuild advice', async () => {
    f = await signedLedger(100);
    fs.writeFileSync(path.join(f.dir, 'events.jsonl'), jsonlLines(f.dir).slice(0, 80).join('\n') + '\n');
    sql(f.dir, (db) => db.prepare('DELETE FROM events WHERE seq >= 80').run());
    const before = snapshot(f.dir);
    const r = cli(['verify', f.dir, '--json']);
    expect(r.code).toBe(EXIT.TAMPERED);
    const report = JSON.parse(r.stdout) as VerifyReport;
    expect(report.projection).toMatchObject({ watermarkPastEnd: { seq: 99 }, tamperRecordCount: 20 });
    const codes = report.problems.map((p) => p.code);
    expect(codes).toContain('WATERMARK_PAST_END');
    expect(codes.filter((c) => c === 'PROJECTION_TAMPER')).toHaveLength(20);
    const text = cli(['verify', f.dir]);
    expect(text.stdout).toMatch(/^watermark +seq 99 at byte \d+: past the end of events.jsonl$/m);
    expect(text.stdout).toMatch(/^tamper log +20 projection_tamper records/m);
    const line = expectOneErrorLine(text.stderr, 'TAMPERED');
    expect(line).toMatch(/restore events.jsonl from a backup or an off-host copy; do not rebuild ledger.db/);
    const d = cli(['doctor', f.dir, '--reconcile']);
    expect(d.code).toBe(EXIT.TAMPERED);
    expect(d.stderr).not.toMatch(/replay .*--rebuild/);
    expect(snapshot(f.dir)).toEqual(before);
  });

  it('a row deleted with the triggers dropped: exit 2 with rebuild advice, and replay --rebuild heals it', async () => {
    f = await signedLedger(40);
    sql(f.dir, (db) => {
      db.exec('DROP TRIGGER events_deleted');
      db.prepare('DELETE FROM events WHERE seq = 7').run();
    });
    const r = cli(['verify', f.dir, '--json']);
    expect(r.code).toBe(EXIT.TAMPERED);
    const codes = (JSON.parse(r.stdout) as VerifyReport).problems.map((p) => `${p.code}@${p.seq}`);
    expect(codes).toContain('PROJECTION_TAMPER@7');
    expect(codes).toContain('PROJECTION_TAMPER@undefined'); // the dropped trigger itself
    const d = cli(['doctor', f.dir, '--reconcile']);
    expect(d.code).toBe(EXIT.TAMPERED);
    expect(d.stderr).toMatch(/rebuild ledger.db with: sealed-ledger replay .* --rebuild/);
    expect(cli(['replay', f.dir, '--rebuild']).code).toBe(0);
    expect(cli(['verify', f.dir]).code).toBe(EXIT.OK);
  });
});

describe('verdicts an operator acts on (issue item 10)', () => {
  it('a checkpoint root edited in the checkpoints table: projection damage, rebuild advice, never "restore events.jsonl"', async () => {
    f = await signedLedger(20);
    keepOffHost(f);
    sql(f.dir, (db) => db.prepare('UPDATE checkpoints SET root = ?').run('ab'.repeat(32)));
    const r = cli(['verify', f.dir, '--json']);
    expect(r.code).toBe(EXIT.TAMPERED);
    expect((JSON.parse(r.stdout) as VerifyReport).problems.map((p) => p.code)).toEqual(['CHECKPOINT_RECORD_MISMATCH']);
    const d = cli(['doctor', f.dir, '--reconcile']);
    expect(d.code).toBe(EXIT.TAMPERED);
    expect(d.stderr).toMatch(/events.jsonl verifies; only ledger.db differs from it: rebuild ledger.db/);
    expect(d.stderr).not.toMatch(/restore/);
    expect(cli(['replay', f.dir, '--rebuild']).code).toBe(0);
    expect(cli(['verify', f.dir]).code).toBe(EXIT.OK);
  });

  it('a dropped events table: exit 2 (LEDGER_CORRUPT) with rebuild advice, not 70', async () => {
    f = await signedLedger(20);
    sql(f.dir, (db) => db.exec('DROP TABLE events'));
    for (const args of [['verify', f.dir], ['doctor', f.dir]]) {
      const r = cli(args);
      expect(r.code).toBe(EXIT.TAMPERED);
      expect(expectOneErrorLine(r.stderr, 'LEDGER_CORRUPT')).toMatch(/no such table: events.*replay --rebuild/);
    }
  });

  it('a malformed keyring.json in the folder: exit 2 (LEDGER_CORRUPT), not 65', async () => {
    f = await signedLedger(5);
    fs.writeFileSync(path.join(f.dir, 'keyring.json'), '{"type":"sealed-ledger-keyring","v":1,"keys":[{"kid":"nope"}]}\n');
    for (const args of [['verify', f.dir], ['doctor', f.dir]]) {
      const r = cli(args);
      expect(r.code).toBe(EXIT.TAMPERED);
      expect(expectOneErrorLine(r.stderr, 'LEDGER_CORRUPT')).toMatch(/keyring/);
    }
  });

  it('export never prints a re-sealed, signature-stripped event whose successor no longer chains to it', async () => {
    f = await signedLedger(10);
    const ls = jsonlLines(f.dir);
    const { sealEvent, encodeLine } = await import('../../src/format/seal.js');
    const ev = JSON.parse(ls[4]!);
    const forged = sealEvent({ kind: ev.kind, id: ev.id, at: ev.at, actor: ev.actor, payload: { n: 4, forged: true } }, { seq: 4, prev: ev.prev });
    ls[4] = encodeLine(forged, JSON.stringify(forged.payload));
    fs.writeFileSync(path.join(f.dir, 'events.jsonl'), ls.join('\n') + '\n');
    const r = cli(['export', f.dir]);
    expect(r.code).toBe(EXIT.TAMPERED);
    expect(lines(r.stdout)).toEqual(ls.slice(0, 4));
    expect(expectOneErrorLine(r.stderr, 'LEDGER_CORRUPT')).toMatch(/CHAIN|prev does not match/);
    // A signature that does not verify is not exported either.
    const again = jsonlLines(f.dir);
    f.cleanup();
    f = await signedLedger(6);
    const own = jsonlLines(f.dir);
    own[2] = own[2]!.replace(/"value":"[A-Za-z0-9+/]{86}=="/, `"value":"${JSON.parse(own[3]!).sig.value}"`);
    fs.writeFileSync(path.join(f.dir, 'events.jsonl'), own.join('\n') + '\n');
    const s = cli(['export', f.dir]);
    expect(s.code).toBe(EXIT.TAMPERED);
    expect(lines(s.stdout)).toEqual(own.slice(0, 2));
    void again;
    // An intact ledger still exports everything, with filters.
    expect(lines(cli(['export', f.dir, '--from', '1', '--to', '1']).stdout)).toHaveLength(1);
  });

  it('keygen --out inside a ledger folder is refused (spec §7.1), nothing written', async () => {
    f = await signedLedger(1);
    for (const out of [path.join(f.dir, 'k.json'), path.join(f.dir, 'torn', 'k.json')]) {
      const r = cli(['keygen', '--out', out]);
      expect(r.code).toBe(EXIT.USAGE);
      expectOneErrorLine(r.stderr, 'INVALID_ARGUMENT');
      expect(fs.existsSync(out)).toBe(false);
    }
    expect(cli(['keygen', '--out', path.join(f.root, 'k.json')]).code).toBe(0);
  });
});
