import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '../../src/crypto/keyring.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { parseVerifierKey } from '../../src/merkle/verifier-key.js';
import { tempDir } from '../helpers.js';
import { cli, ensureBuilt, expectOneErrorLine, lines } from './cli-harness.js';

beforeAll(ensureBuilt);

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
function tmp(): string {
  const t = tempDir('sl-cli-keys-');
  cleanups.push(t.cleanup);
  return t.dir;
}

describe('keygen', () => {
  it('writes a 0600 key file and prints kid, public key and verifier key', () => {
    const d = tmp();
    const r = cli(['keygen', '--out', 'k.json', '--name', 'ops', '--json'], { cwd: d });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { kid: string; name: string; publicKey: string; verifierKey: string; file: string };
    expect(out.name).toBe('ops');
    expect(out.file).toBe(path.join(fs.realpathSync(d), 'k.json'));
    expect(fs.statSync(path.join(d, 'k.json')).mode & 0o777).toBe(0o600);
    const v = parseVerifierKey(out.verifierKey);
    expect(v.name).toBe('ops');
    expect(v.publicKey.toString('base64')).toBe(out.publicKey);
    expect(r.stdout).not.toContain('seed');
  });

  it('never overwrites a key file', () => {
    const d = tmp();
    expect(cli(['keygen', '--out', 'k.json'], { cwd: d }).code).toBe(0);
    const before = fs.readFileSync(path.join(d, 'k.json'), 'utf8');
    const r = cli(['keygen', '--out', 'k.json'], { cwd: d });
    expect(r.code).toBe(EXIT.USAGE);
    expect(expectOneErrorLine(r.stderr, 'INVALID_ARGUMENT')).toContain('already exists');
    expect(fs.readFileSync(path.join(d, 'k.json'), 'utf8')).toBe(before);
  });
});

describe('init', () => {
  it('creates a ledger with a new key outside it and registers the key', () => {
    const d = tmp();
    const r = cli(['init', 'L', '--new-key', 'k.json', '--name', 'alice', '--origin', 'example.com/audit', '--json'], { cwd: d });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { origin: string; key: { kid: string; name: string } };
    expect(out.origin).toBe('example.com/audit');
    expect(fs.existsSync(path.join(d, 'L', 'events.jsonl'))).toBe(true);
    expect(fs.statSync(path.join(d, 'k.json')).mode & 0o777).toBe(0o600);
    expect(Keyring.load(path.join(d, 'L', 'keyring.json')).list().map((k) => k.kid)).toEqual([out.key.kid]);
    const v = cli(['verify', 'L'], { cwd: d });
    expect(v.code).toBe(0);
  });

  it('refuses a key path inside the ledger folder, before creating anything', () => {
    const d = tmp();
    const r = cli(['init', 'L', '--new-key', 'L/secret/k.json'], { cwd: d });
    expect(r.code).toBe(EXIT.USAGE);
    expect(expectOneErrorLine(r.stderr, 'INVALID_ARGUMENT')).toContain('inside the ledger folder');
    expect(fs.existsSync(path.join(d, 'L'))).toBe(false);
  });

  it('refuses a key path that reaches inside through a symlink', () => {
    const d = tmp();
    fs.mkdirSync(path.join(d, 'L'));
    fs.symlinkSync(path.join(d, 'L'), path.join(d, 'link'));
    const r = cli(['init', 'L', '--new-key', 'link/k.json'], { cwd: d });
    expect(r.code).toBe(EXIT.USAGE);
    expect(fs.readdirSync(path.join(d, 'L'))).toEqual([]);
  });

  it('refuses an existing ledger (73) and a non-empty folder (64)', () => {
    const d = tmp();
    expect(cli(['init', 'L'], { cwd: d }).code).toBe(0);
    const again = cli(['init', 'L'], { cwd: d });
    expect(again.code).toBe(EXIT.CANTCREAT);
    expectOneErrorLine(again.stderr, 'LEDGER_EXISTS');
    fs.mkdirSync(path.join(d, 'other'));
    fs.writeFileSync(path.join(d, 'other', 'notes.txt'), 'mine');
    const busy = cli(['init', 'other'], { cwd: d });
    expect(busy.code).toBe(EXIT.USAGE);
    expect(expectOneErrorLine(busy.stderr, 'INVALID_ARGUMENT')).toContain('not empty');
  });
});

describe('unreadable keys', () => {
  it('a group/other-readable key file is refused (65), naming the fix', () => {
    const d = tmp();
    cli(['keygen', '--out', 'k.json'], { cwd: d });
    cli(['init', 'L'], { cwd: d });
    fs.chmodSync(path.join(d, 'k.json'), 0o644);
    for (const args of [['keys', 'add', 'L', '--key', 'k.json'], ['append', 'L', '--key', 'k.json', '--kind', 'k'], ['checkpoint', 'L', '--key', 'k.json'], ['verifier-key', 'k.json']]) {
      const r = cli(args, { cwd: d });
      expect(r.code, args.join(' ')).toBe(EXIT.DATAERR);
      expect(expectOneErrorLine(r.stderr, 'INVALID_KEY')).toContain('chmod 600');
    }
    expect(fs.statSync(path.join(d, 'L', 'events.jsonl')).size).toBe(0);
  });

  it('a missing key file is 66', () => {
    const d = tmp();
    cli(['init', 'L'], { cwd: d });
    const r = cli(['append', 'L', '--key', 'missing.json', '--kind', 'k'], { cwd: d });
    expect(r.code).toBe(EXIT.NOINPUT);
    expect(expectOneErrorLine(r.stderr, 'IO_ERROR')).toContain('ENOENT');
  });
});

describe('keys list/add/retire and verifier-key', () => {
  it('rotates keys end to end', () => {
    const d = tmp();
    cli(['init', 'L', '--new-key', 'old.json', '--name', 'old'], { cwd: d });
    cli(['keygen', '--out', 'new.json', '--name', 'new'], { cwd: d });
    expect(cli(['append', 'L', '--key', 'old.json', '--kind', 'a'], { cwd: d }).code).toBe(0);
    // A key not in the keyring cannot sign.
    const unknown = cli(['append', 'L', '--key', 'new.json', '--kind', 'a'], { cwd: d });
    expect(unknown.code).toBe(EXIT.DATAERR);
    expectOneErrorLine(unknown.stderr, 'UNKNOWN_KEY');

    expect(cli(['keys', 'add', 'L', '--key', 'new.json'], { cwd: d }).code).toBe(0);
    const oldKid = (JSON.parse(fs.readFileSync(path.join(d, 'old.json'), 'utf8')) as { kid: string }).kid;
    const retired = cli(['keys', 'retire', 'L', oldKid, '--json'], { cwd: d });
    expect(retired.code).toBe(0);
    expect(JSON.parse(retired.stdout)).toMatchObject({ kid: oldKid, retiredAtSeq: 1 });

    const late = cli(['append', 'L', '--key', 'old.json', '--kind', 'a'], { cwd: d });
    expect(late.code).toBe(EXIT.DATAERR);
    expectOneErrorLine(late.stderr, 'KEY_NOT_VALID');
    expect(cli(['append', 'L', '--key', 'new.json', '--kind', 'b'], { cwd: d }).code).toBe(0);
    expect(cli(['verify', 'L', '--require-signatures'], { cwd: d }).code).toBe(0);

    const list = JSON.parse(cli(['keys', 'list', 'L', '--json'], { cwd: d }).stdout) as { name: string; retired: boolean; window: string }[];
    expect(list.map((k) => [k.name, k.retired])).toEqual([['old', true], ['new', false]]);
    expect(list[0]!.window).toMatch(/^retired at seq 1, until \d{4}-/);

    const vk = lines(cli(['verifier-key', 'L'], { cwd: d }).stdout);
    expect(vk.map((s) => parseVerifierKey(s).name)).toEqual(['old', 'new']);
    expect(lines(cli(['verifier-key', 'new.json'], { cwd: d }).stdout)).toEqual([vk[1]]);
  });

  it('adds a public key given as base64, and rejects a malformed one', () => {
    const d = tmp();
    cli(['init', 'L'], { cwd: d });
    const k = JSON.parse(cli(['keygen', '--out', 'k.json', '--json'], { cwd: d }).stdout) as { kid: string; publicKey: string };
    const r = cli(['keys', 'add', 'L', '--public-key', k.publicKey, '--name', 'witness'], { cwd: d });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`added: ${k.kid} (witness)`);
    const bad = cli(['keys', 'add', 'L', '--public-key', 'AAAA', '--name', 'x'], { cwd: d });
    expect(bad.code).toBe(EXIT.DATAERR);
    expectOneErrorLine(bad.stderr, 'INVALID_KEY');
    const neither = cli(['keys', 'add', 'L'], { cwd: d });
    expect(neither.code).toBe(EXIT.USAGE);
  });
});
