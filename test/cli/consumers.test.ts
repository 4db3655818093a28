// spec §15.1, §21.5, §21.6: consumers list|reset, and a consumer resuming where reset put it.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { consumer } from '../../src/feed/consumer.js';
import { readOffset } from '../../src/feed/consumer-offsets.js';
import { cli, ensureBuilt, expectOneErrorLine } from './cli-harness.js';
import { type Fixture, jsonlLines, signedLedger } from './fixtures.js';

beforeAll(ensureBuilt);
const fixtures: Fixture[] = [];
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()));

async function take(dir: string, name: string, n: number): Promise<number[]> {
  const c = consumer(dir, name);
  const got: number[] = [];
  for await (const e of c.events()) {
    got.push(e.seq);
    if (got.length === n) break;
  }
  return got;
}

describe('consumers list|reset', () => {
  it('lists offsets with their lag, and reset moves a consumer to any seq', async () => {
    const f = await signedLedger(20, 'sl-cli-consumers-');
    fixtures.push(f);
    expect(cli(['consumers', 'list', f.dir]).stdout).toBe('no consumers\n');
    expect(await take(f.dir, 'siem', 5)).toEqual([0, 1, 2, 3, 4]);
    // The loop was left by break after seq 4: acknowledged up to 3.
    const listed = JSON.parse(cli(['consumers', 'list', f.dir, '--json']).stdout);
    expect(listed).toMatchObject([{ name: 'siem', seq: 3, lag: 16 }]);
    expect(cli(['consumers', 'list', f.dir]).stdout).toMatch(/^siem {2}seq 3 {2}lag 16 {2}\d{4}-/);

    const r = cli(['consumers', 'reset', f.dir, '--name', 'siem', '--to-seq', '12', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const line12 = JSON.parse(jsonlLines(f.dir)[11]!);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'siem', seq: 11, hash: line12.hash });
    expect(await take(f.dir, 'siem', 2)).toEqual([12, 13]);

    expect(cli(['consumers', 'reset', f.dir, '--name', 'siem']).stdout).toBe('consumer siem resumes at seq 0\n');
    expect(readOffset(f.dir, 'siem').seq).toBe(-1);
    expect(await take(f.dir, 'siem', 1)).toEqual([0]);
    // A reset to the head + 1 is "only new events"; past it is refused, changing nothing.
    expect(cli(['consumers', 'reset', f.dir, '--name', 'siem', '--to-seq', '20']).code).toBe(0);
    const bad = cli(['consumers', 'reset', f.dir, '--name', 'siem', '--to-seq', '21']);
    expect(bad.code).toBe(EXIT.USAGE);
    expectOneErrorLine(bad.stderr, 'INVALID_ARGUMENT');
    expect(readOffset(f.dir, 'siem').seq).toBe(19);
  });

  it('refuses a consumer name that could leave the consumers folder', async () => {
    const f = await signedLedger(1, 'sl-cli-consumers-');
    fixtures.push(f);
    for (const name of ['../x', '.hidden', 'a/b', '']) {
      const r = cli(['consumers', 'reset', f.dir, '--name', name]);
      expect(r.code, name).toBe(EXIT.USAGE);
    }
  });
});
