/**
 * Ledger files are never followed through a symlink (spec §7.1), and files others may write are
 * reported. Was: with ledger.db removed, a symlink events.jsonl -> victim made append move the
 * victim's content to torn/, truncate it and write ledger lines into it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { replayJsonlIntoSqlite } from '../../src/ledger/replay.js';
import { signingKeyFromSeed } from '../../src/crypto/signing-key.js';
import { cleanupAll, fresh } from './ledger-helpers.js';

afterEach(cleanupAll);

async function ledgerOf(n: number): Promise<string> {
  const dir = fresh();
  const l = await Ledger.open({ dir, create: true });
  for (let i = 0; i < n; i++) await l.append({ kind: 'doc.edit', payload: i });
  await l.close();
  return dir;
}

const dropDb = (dir: string) => { for (const s of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, 'ledger.db' + s), { force: true }); };

describe('symlinks in the ledger folder', () => {
  it('events.jsonl -> victim: open refuses, the victim is untouched, nothing is written', async () => {
    const dir = await ledgerOf(2);
    const victim = path.join(path.dirname(dir), 'victim.conf');
    fs.writeFileSync(victim, 'secret=1\nno newline at the end');
    dropDb(dir);
    fs.rmSync(path.join(dir, 'events.jsonl'));
    fs.symlinkSync(victim, path.join(dir, 'events.jsonl'));
    const entries = fs.readdirSync(dir).sort();
    await expect(Ledger.open({ dir })).rejects.toMatchObject({ code: 'LEDGER_CORRUPT', details: { path: path.join(dir, 'events.jsonl') } });
    await expect(replayJsonlIntoSqlite({ dir })).rejects.toMatchObject({ code: 'LEDGER_CORRUPT' });
    expect(fs.readFileSync(victim, 'utf8')).toBe('secret=1\nno newline at the end');
    expect(fs.readdirSync(dir).sort()).toEqual(entries);
  });

  it('O_NOFOLLOW holds even when the check before it is raced: a symlink swapped in after the lstat is not opened', async () => {
    const dir = await ledgerOf(1);
    const victim = path.join(path.dirname(dir), 'victim2.conf');
    fs.writeFileSync(victim, 'x');
    const { JsonlFile } = await import('../../src/store/jsonl-file.js');
    const { NODE_FILE_IO } = await import('../../src/store/file-io.js');
    fs.rmSync(path.join(dir, 'events.jsonl'));
    fs.symlinkSync(victim, path.join(dir, 'events.jsonl'));
    expect(() => JsonlFile.open(path.join(dir, 'events.jsonl'), NODE_FILE_IO)).toThrow(/ELOOP/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('x');
  });

  it('ledger.db, ledger.json, checkpoints.jsonl, witness.jsonl, lock.db or torn/ as a symlink: open refuses naming it', async () => {
    for (const name of ['ledger.db', 'ledger.json', 'torn', 'checkpoints.jsonl', 'witness.jsonl', 'lock.db', 'lock.db-journal']) {
      const dir = await ledgerOf(1);
      const target = path.join(path.dirname(dir), `target-${name}`);
      const p = path.join(dir, name);
      if (fs.existsSync(p)) fs.renameSync(p, target);
      else if (name === 'torn') fs.mkdirSync(target);
      else fs.writeFileSync(target, '');
      fs.symlinkSync(target, p);
      await expect(Ledger.open({ dir }), name).rejects.toMatchObject({ code: 'LEDGER_CORRUPT', details: { path: p } });
    }
  });
});

describe('verify and checkpoints.jsonl (spec §7.1)', () => {
  // Was: verify opened checkpoints.jsonl by path and followed a symlink to whatever file it named.
  it('checkpoints.jsonl -> an attacker-chosen file: verify refuses with LEDGER_CORRUPT instead of reading it', async () => {
    const dir = fresh();
    const key = signingKeyFromSeed(Buffer.alloc(32, 3), 'cp-link');
    const l = await Ledger.open({ dir, create: true, signer: key });
    await l.append({ kind: 'doc.edit', payload: 1 });
    await l.checkpoint();
    await l.close();
    const cp = path.join(dir, 'checkpoints.jsonl');
    const chosen = path.join(path.dirname(dir), `chosen-${path.basename(dir)}.jsonl`);
    // The attacker's file holds well-formed records (a copy), so following the link would pass.
    fs.copyFileSync(cp, chosen);
    fs.rmSync(cp);
    fs.symlinkSync(chosen, cp);
    await expect(verifyLedger({ dir })).rejects.toMatchObject({ code: 'LEDGER_CORRUPT', details: { path: cp } });
    fs.rmSync(chosen);
  });

  it('checkpoints.jsonl as a folder: verify refuses with LEDGER_CORRUPT, not a raw EISDIR', async () => {
    const dir = await ledgerOf(1);
    const cp = path.join(dir, 'checkpoints.jsonl');
    fs.rmSync(cp, { force: true });
    fs.mkdirSync(cp);
    await expect(verifyLedger({ dir })).rejects.toMatchObject({ code: 'LEDGER_CORRUPT', details: { path: cp } });
  });
});

describe('writable by others', () => {
  it('a group- or world-writable folder or file is a warning on open and in verify', async () => {
    const dir = await ledgerOf(1);
    fs.chmodSync(dir, 0o777);
    fs.chmodSync(path.join(dir, 'events.jsonl'), 0o664);
    const l = await Ledger.open({ dir });
    expect(l.warnings).toEqual([
      expect.stringMatching(new RegExp(`^${dir} is writable by group and others \\(mode 0777\\)`)),
      expect.stringMatching(/events\.jsonl is writable by group \(mode 0664\)/),
    ]);
    await l.close();
    const v = await verifyLedger({ dir });
    expect(v.warnings).toHaveLength(2);
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, 'events.jsonl'), 0o644);
    expect((await verifyLedger({ dir })).warnings).toEqual([]);
  });
});
