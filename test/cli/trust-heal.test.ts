/**
 * The CLI side of a persistent signing policy (spec §7.1), of a rebuild that never loses the
 * projection it replaces (spec §14.3), and of files an attacker swapped for symlinks (spec §7.1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { canonicalize } from '../../src/format/canonical.js';
import type { SealedEvent } from '../../src/format/event.js';
import { encodeLine, sealEvent } from '../../src/format/seal.js';
import { cli, ensureBuilt, expectOneErrorLine } from './cli-harness.js';
import { type Fixture, jsonlLines, signedLedger, snapshot, sql } from './fixtures.js';

beforeAll(ensureBuilt);

let f: Fixture;
afterEach(() => f?.cleanup());

function forgeUnsigned(dir: string): number {
  const last = JSON.parse(jsonlLines(dir).at(-1)!) as SealedEvent;
  const ev = sealEvent({ kind: 'doc.edit', payload: 'forged', at: last.at }, { seq: last.seq + 1, prev: last.hash });
  fs.appendFileSync(path.join(dir, 'events.jsonl'), encodeLine(ev, canonicalize(ev.payload)) + '\n');
  return ev.seq;
}

describe('signing policy on the command line', () => {
  it('init --require-signatures records it; append without --key fails writing nothing; a forged unsigned line fails verify and doctor --reconcile', async () => {
    f = await signedLedger(0);
    fs.rmSync(f.dir, { recursive: true });
    const init = cli(['init', f.dir, '--key', f.keyPath, '--require-signatures', '--json']);
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout)).toMatchObject({ signatures: 'required' });
    expect(cli(['append', f.dir, '--key', f.keyPath, '--kind', 'a.b', '--payload', '1']).code).toBe(0);
    const before = snapshot(f.dir);
    const bare = cli(['append', f.dir, '--kind', 'a.b', '--payload', '2']);
    expect(bare.code).toBe(EXIT.USAGE);
    expect(expectOneErrorLine(bare.stderr, 'INVALID_ARGUMENT')).toContain('requires signed events from seq 0');
    expect(snapshot(f.dir)).toEqual(before);
    const seq = forgeUnsigned(f.dir);
    const v = cli(['verify', f.dir]);
    expect(v.code).toBe(EXIT.TAMPERED);
    expect(expectOneErrorLine(v.stderr, 'TAMPERED')).toContain(`SIGNATURE_REQUIRED at seq ${seq}`);
    expect(v.stdout).toMatch(/^signing +required from seq 0$/m);
    const tampered = snapshot(f.dir);
    const d = cli(['doctor', f.dir, '--reconcile']);
    expect(d.code).toBe(EXIT.TAMPERED);
    expect(snapshot(f.dir)).toEqual(tampered);
    const a = cli(['append', f.dir, '--key', f.keyPath, '--kind', 'a.b', '--payload', '3']);
    expect(a.code).toBe(EXIT.TAMPERED);
    expect(expectOneErrorLine(a.stderr, 'SIGNATURE_REQUIRED')).toContain(`seq ${seq}`);
  });

  it('policy --require-signatures opts an existing ledger in from its next seq', async () => {
    f = await signedLedger(3);
    expect(cli(['policy', f.dir]).stdout).toMatch(/^signatures +optional$/m);
    const r = cli(['policy', f.dir, '--require-signatures', '--json']);
    expect(JSON.parse(r.stdout)).toEqual({ signaturesRequiredFrom: 3, maxPayloadBytes: 1048576, changed: true });
    expect(cli(['append', f.dir, '--kind', 'a.b']).code).toBe(EXIT.USAGE);
    forgeUnsigned(f.dir);
    expect(cli(['verify', f.dir]).code).toBe(EXIT.TAMPERED);
  });
});

describe('replay --rebuild on a damaged events.jsonl', () => {
  it('cannot reach the old head: the old ledger.db stays in place, nothing changes, exit 2', async () => {
    f = await signedLedger(1000);
    const lines = jsonlLines(f.dir);
    lines[500] = lines[500]!.replace('"payload":{', '"payload":{"x":1,');
    fs.writeFileSync(path.join(f.dir, 'events.jsonl'), lines.join('\n') + '\n');
    const before = snapshot(f.dir);
    const r = cli(['replay', f.dir, '--rebuild']);
    expect(r.code).toBe(EXIT.TAMPERED);
    expect(expectOneErrorLine(r.stderr, 'TAMPERED')).toMatch(/replay stopped at offset \d+: MALFORMED_LINE: .*reaches seq 499 but the current ledger.db holds events up to seq 999, so ledger.db was left in place/);
    expect(snapshot(f.dir)).toEqual(before);
    expect(sql(f.dir, (db) => db.prepare('SELECT count(*) AS n FROM events').get())).toEqual({ n: 1000 });
  });
});
