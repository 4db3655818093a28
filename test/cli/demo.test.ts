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
  it('runs the whole job, twice, moving the first demo aside', () => {
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

    const second = cli(['demo', '--events', '30'], { cwd: t.dir });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^moved the previous demo aside: demo-ledger\.old-/m);
    const aside = fs.readdirSync(t.dir).filter((n) => n.startsWith('demo-ledger.old-'));
    expect(aside).toHaveLength(2); // the folder and its key
    const v = cli(['verify', 'demo-ledger', '--json'], { cwd: t.dir });
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ events: 30, signed: 30, ok: true });
    const old = aside.find((n) => !n.endsWith('.json'))!;
    expect(cli(['verify', old], { cwd: t.dir }).code).toBe(0);
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
