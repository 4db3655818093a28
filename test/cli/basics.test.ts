import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/errors.js';
import { EXIT, EXIT_FOR_ERROR_CODE, exitCodeFor } from '../../src/cli/exit-codes.js';
import { wantsProgress } from '../../src/cli/progress.js';
import { LedgerStateError, SealedLedgerError } from '../../src/errors.js';
import { tempDir } from '../helpers.js';
import { cli, ensureBuilt, expectOneErrorLine, ROOT } from './cli-harness.js';

beforeAll(ensureBuilt);

const COMMANDS = [
  ['demo'], ['init'], ['keygen'], ['keys'], ['keys', 'list'], ['keys', 'add'], ['keys', 'retire'], ['append'],
  ['verify'], ['doctor'], ['replay'], ['export'], ['tail'], ['checkpoint'], ['verifier-key'], ['prove'],
  ['prove', 'inclusion'], ['prove', 'consistency'],
];

describe('global flags', () => {
  it('--version prints the package version', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('--help lists every command and the exit codes', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    for (const [c] of COMMANDS) expect(r.stdout).toContain(`  ${c!}`);
    expect(r.stdout).toMatch(/Exit codes:[\s\S]*64 +usage error/);
  });

  it('every command has --help', () => {
    for (const c of COMMANDS) {
      const r = cli([...c, '--help']);
      expect(r.code, c.join(' ')).toBe(0);
      expect(r.stdout, c.join(' ')).toContain(`Usage: sealed-ledger ${c.join(' ')}`);
      expect(r.stderr).toBe('');
    }
  });
});

describe('usage errors: exit 64, one line, no stack', () => {
  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['verify'], /missing required argument 'dir'/],
    [['verify', 'x', '--bogus'], /unknown option '--bogus'/],
    [['tail', 'x', '-n', 'ten'], /argument 'ten' is invalid/],
    [['prove', 'inclusion', 'x'], /required option '--seq <n>' not specified/],
    [['keygen'], /required option '--out <file>' not specified/],
  ])('%j', (args, message) => {
    const r = cli(args);
    expect(r.code).toBe(EXIT.USAGE);
    expect(expectOneErrorLine(r.stderr, 'USAGE')).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

describe('missing folder, not a ledger: exit 66', () => {
  it.each(['verify', 'doctor', 'append', 'tail', 'prove inclusion'])('%s', (cmd) => {
    const t = tempDir();
    try {
      const extra = cmd === 'prove inclusion' ? ['--seq', '0'] : cmd === 'append' ? ['--kind', 'k'] : [];
      const missing = cli([...cmd.split(' '), path.join(t.dir, 'nope'), ...extra]);
      expect(missing.code).toBe(EXIT.NOINPUT);
      expect(expectOneErrorLine(missing.stderr, 'LEDGER_NOT_FOUND')).toContain('does not exist');
      const notLedger = cli([...cmd.split(' '), t.dir, ...extra]);
      expect(notLedger.code).toBe(EXIT.NOINPUT);
      expect(expectOneErrorLine(notLedger.stderr, 'LEDGER_NOT_FOUND')).toContain('is not a ledger folder');
      expect(fs.readdirSync(t.dir)).toEqual([]); // nothing was created
    } finally {
      t.cleanup();
    }
  });

  it('--debug adds the stack trace', () => {
    const r = cli(['--debug', 'verify', '/nonexistent/ledger']);
    expect(r.code).toBe(EXIT.NOINPUT);
    expect(r.stderr.split('\n')[0]).toMatch(/^sealed-ledger: LEDGER_NOT_FOUND: /);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});

describe('exit-code table', () => {
  it('maps every library error code to a documented status', () => {
    const documented = new Set<number>(Object.values(EXIT));
    for (const [code, status] of Object.entries(EXIT_FOR_ERROR_CODE)) expect(documented.has(status), code).toBe(true);
    expect(exitCodeFor(new LedgerStateError('LEDGER_NOT_FOUND', 'x'))).toBe(66);
    expect(exitCodeFor(new Error('boom'))).toBe(70);
    const enoent = Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    expect(exitCodeFor(new SealedLedgerError('IO_ERROR', 'x', { cause: enoent }))).toBe(66);
    expect(exitCodeFor(new SealedLedgerError('IO_ERROR', 'x'))).toBe(74);
    expect(exitCodeFor(new SealedLedgerError('LOCK_TIMEOUT' as ErrorCode, 'x'))).toBe(75);
  });

  it('spec/cli.md documents exactly the statuses in exit-codes.ts', () => {
    const spec = fs.readFileSync(path.join(ROOT, 'spec/cli.md'), 'utf8');
    const section = spec.slice(spec.indexOf('### 15.3'));
    const rows = [...section.matchAll(/^\| `(\d+)` \| `([A-Z]+)` \|/gm)].map((m) => [m[2], Number(m[1])]);
    expect(Object.fromEntries(rows)).toEqual(EXIT);
    for (const [code, status] of Object.entries(EXIT_FOR_ERROR_CODE)) {
      const row = section.split('\n').find((l) => l.startsWith(`| \`${status}\` `));
      expect(row, `${code} -> ${status}`).toContain(`\`${code}\``);
    }
  });
});

describe('progress bars', () => {
  it('only on a terminal, never under --json or --quiet', () => {
    expect(wantsProgress({ isTTY: true })).toBe(true);
    expect(wantsProgress({ isTTY: false })).toBe(false);
    expect(wantsProgress({ isTTY: undefined })).toBe(false);
    expect(wantsProgress({ isTTY: true, json: true })).toBe(false);
    expect(wantsProgress({ isTTY: true, quiet: true })).toBe(false);
  });
});
