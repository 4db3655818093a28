import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { tempDir } from '../helpers.js';
import { cli, ensureBuilt, expectOneErrorLine, lines } from './cli-harness.js';

beforeAll(ensureBuilt);

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

describe('demo', () => {
  it('runs the whole job, twice, replacing the first demo and leaving nothing else behind', () => {
    const t = tempDir('sl-cli-demo-');
    cleanups.push(t.cleanup);
    const first = cli(['demo', '--events', '120'], { cwd: t.dir });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toBe('');
    const out = first.stdout;
    expect(out).toMatch(/appended 120 signed events: 2 atomic batches of 40, then 40 concurrent appends/);
    expect(out).toMatch(/verify: OK: 120 events/);
    expect(out).toMatch(/deleted ledger.db/);
    expect(out).toMatch(/verify: DRIFT: 120 events missing from ledger.db \(exit 1\)/);
    expect(out).toMatch(/replayed events.jsonl into a new ledger.db: 120 events/);
    expect(out).toMatch(/proved event seq 60 is in the tree of 120 with \d+ hashes/);
    expect(lines(out).every((l) => !l.endsWith(' '))).toBe(true);
    expect(fs.statSync(path.join(t.dir, 'demo-ledger.key.json')).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(path.join(t.dir, 'demo-ledger', 'demo-ledger.key.json'))).toBe(false);

    // The closing hints run as printed in a clone, where only npx finds the bin.
    const tries = lines(out).slice(lines(out).findIndex((l) => l.endsWith('Try:')) + 1);
    expect(tries).toHaveLength(3);
    for (const l of tries) expect(l).toMatch(/(^ +|\| )npx sealed-ledger (verify|tail|append) demo-ledger/);

    const second = cli(['demo', '--events', '30'], { cwd: t.dir });
    expect(second.code, second.stderr).toBe(0);
    expect(lines(second.stdout).filter((l) => l.startsWith('removed the previous demo: '))).toEqual([
      'removed the previous demo: demo-ledger',
      'removed the previous demo: demo-ledger.key.json',
    ]);
    expect(fs.readdirSync(t.dir).sort()).toEqual(['demo-ledger', 'demo-ledger.key.json']);
    const v = cli(['verify', 'demo-ledger', '--json'], { cwd: t.dir });
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ events: 30, signed: 30, ok: true });
  });

  it('refuses a key file at <dir>.key.json that is not the demo key, and touches nothing', () => {
    const t = tempDir('sl-cli-demo-');
    cleanups.push(t.cleanup);
    expect(cli(['demo', '--events', '6'], { cwd: t.dir }).code).toBe(0);
    const keyFile = path.join(t.dir, 'demo-ledger.key.json');
    fs.rmSync(keyFile);
    expect(cli(['keygen', '--out', keyFile, '--name', 'prod'], { cwd: t.dir }).code).toBe(0);
    const before = fs.readFileSync(keyFile);
    const r = cli(['demo', '--events', '6'], { cwd: t.dir });
    expect(r.code).toBe(EXIT.USAGE);
    expect(expectOneErrorLine(r.stderr, 'INVALID_ARGUMENT')).toContain('is not a demo key');
    expect(fs.readFileSync(keyFile).equals(before)).toBe(true);
    expect(cli(['verify', 'demo-ledger', '--quiet'], { cwd: t.dir }).code).toBe(0);
  });

  it('refuses a folder that is not a demo ledger', () => {
    const t = tempDir('sl-cli-demo-');
    cleanups.push(t.cleanup);
    fs.mkdirSync(path.join(t.dir, 'mine'));
    fs.writeFileSync(path.join(t.dir, 'mine', 'keep.txt'), 'precious');
    const r = cli(['demo', 'mine'], { cwd: t.dir });
    expect(r.code).toBe(EXIT.USAGE);
    expect(expectOneErrorLine(r.stderr, 'INVALID_ARGUMENT')).toContain('is not a demo ledger');
    expect(fs.readdirSync(path.join(t.dir, 'mine'))).toEqual(['keep.txt']);
    expect(cli(['init', 'real'], { cwd: t.dir }).code).toBe(0);
    expect(cli(['demo', 'real'], { cwd: t.dir }).code).toBe(EXIT.USAGE);
  });
});
