/**
 * Operating-system refusals (EACCES, EROFS) are IO_ERROR, exit 74, naming the path and the errno,
 * never INTERNAL (70); a folder the user cannot read is not "not a ledger folder"; prove and
 * verify work on a read-only copy (spec §15.3, §15.4). Tests run as root, which chmod does not
 * stop, so the CLI runs as the unprivileged `nobody` (a real permission check, not a simulation);
 * EROFS comes from a real read-only bind mount in a private mount namespace where the host
 * allows one (unshare -m).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { BIN, ensureBuilt, expectOneErrorLine } from './cli-harness.js';
import { type Fixture, signedLedger, snapshot } from './fixtures.js';

beforeAll(ensureBuilt);

let f: Fixture;
afterEach(() => {
  if (f) {
    fs.chmodSync(f.dir, 0o755);
    f.cleanup();
  }
});

const NOBODY = 65534;

function asNobody(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { uid: NOBODY, gid: NOBODY, cwd: '/', encoding: 'utf8', input: '' });
  if (r.error) throw r.error;
  if (/Cannot find module|EACCES.*main\.js/.test(r.stderr)) throw new Error(`user nobody cannot run ${BIN}; the checkout must be readable by others:\n${r.stderr}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A signed ledger that `nobody` may read but not write (folder 0555, files 0444). */
async function readOnlyLedger(): Promise<Fixture> {
  const fx = await signedLedger(5);
  fs.chmodSync(fx.root, 0o755);
  fs.chownSync(fx.keyPath, NOBODY, NOBODY); // a key nobody can read, so checkpoint reaches the ledger
  for (const n of fs.readdirSync(fx.dir)) fs.chmodSync(path.join(fx.dir, n), 0o444);
  fs.chmodSync(fx.dir, 0o555);
  return fx;
}

describe('permission denied (EACCES)', () => {
  it('append, replay --rebuild, doctor --reconcile and checkpoint on a folder the user cannot write: IO_ERROR 74 naming path and errno; nothing changes', async () => {
    f = await readOnlyLedger();
    const before = snapshot(f.dir);
    const jsonl = path.join(f.dir, 'events.jsonl');
    const cases: [string[], string][] = [
      [['append', f.dir, '--kind', 'a.b', '--payload', '1'], `${jsonl}: EACCES`],
      [['replay', f.dir, '--rebuild'], `${path.join(f.dir, 'ledger.db')}.rebuild-`],
      [['doctor', f.dir, '--reconcile'], `${jsonl}: EACCES`],
      [['checkpoint', f.dir, '--key', f.keyPath], `${jsonl}: EACCES`],
    ];
    for (const [args, where] of cases) {
      const r = asNobody(args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(EXIT.IOERR);
      const line = expectOneErrorLine(r.stderr, 'IO_ERROR');
      expect(line).toContain(where);
      expect(line).toContain('EACCES');
    }
    expect(snapshot(f.dir)).toEqual(before);
  });

  it('init in a folder the user cannot write: IO_ERROR naming it', async () => {
    f = await readOnlyLedger();
    const r = asNobody(['init', path.join(f.dir, 'new')]);
    expect(r.code).toBe(EXIT.IOERR);
    expect(expectOneErrorLine(r.stderr, 'IO_ERROR')).toContain(`mkdir ${path.join(f.dir, 'new')}: EACCES`);
  });

  it('a ledger folder the user cannot read is IO_ERROR, not "not a ledger folder … create one with init"', async () => {
    f = await signedLedger(2);
    fs.chmodSync(f.root, 0o755);
    fs.chmodSync(f.dir, 0o700);
    for (const cmd of ['verify', 'append']) {
      const r = asNobody([cmd, f.dir, ...(cmd === 'append' ? ['--kind', 'a.b'] : [])]);
      expect(r.code).toBe(EXIT.IOERR);
      const line = expectOneErrorLine(r.stderr, 'IO_ERROR');
      expect(line).toContain('EACCES');
      expect(line).not.toContain('not a ledger folder');
    }
  });

  it('prove and verify work on a read-only copy', async () => {
    f = await readOnlyLedger();
    const before = snapshot(f.dir);
    const p = asNobody(['prove', 'inclusion', f.dir, '--seq', '2', '--json']);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ index: 2, treeSize: 5 });
    expect(asNobody(['prove', 'consistency', f.dir, '--from', '2']).code).toBe(0);
    const v = asNobody(['verify', f.dir]);
    expect(v.code, v.stderr).toBe(0);
    expect(snapshot(f.dir)).toEqual(before);
  });
});

const canMount = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o ro none /mnt'], { encoding: 'utf8' }).status === 0;

describe('read-only file system (EROFS)', () => {
  it.skipIf(!canMount)('append on a read-only bind mount: IO_ERROR 74 naming events.jsonl and EROFS', async () => {
    f = await signedLedger(3);
    const script = `mount --bind "${f.dir}" "${f.dir}" && mount -o remount,bind,ro "${f.dir}" && "${process.execPath}" "${BIN}" "$@"`;
    const run = (args: string[]) => spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', ...args], { encoding: 'utf8', input: '' });
    const a = run(['append', f.dir, '--kind', 'a.b']);
    expect(a.status, a.stderr).toBe(EXIT.IOERR);
    expect(expectOneErrorLine(a.stderr, 'IO_ERROR')).toContain(`${path.join(f.dir, 'events.jsonl')}: EROFS`);
    const p = run(['prove', 'inclusion', f.dir, '--seq', '1']);
    expect(p.status, p.stderr).toBe(0);
  });
});
