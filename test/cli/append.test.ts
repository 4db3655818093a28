import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { parseEventLine } from '../../src/format/event-line.js';
import { verifyEventSignature } from '../../src/format/signature.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { cli, ensureBuilt, expectOneErrorLine, lines } from './cli-harness.js';
import { type Fixture, jsonlLines, signedLedger, snapshot, sql } from './fixtures.js';

beforeAll(ensureBuilt);

let f: Fixture;
afterEach(() => f?.cleanup());

describe('append', () => {
  it('one event from flags, signed, printed as its canonical line', async () => {
    f = await signedLedger(0);
    const r = cli(['append', f.dir, '--key', f.keyPath, '--kind', 'user.login', '--payload', '{"user":"alice","n":1}', '--actor', 'svc:web', '--id', 'evt-1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual(jsonlLines(f.dir));
    const ev = parseEventLine(lines(r.stdout)[0]!).event;
    expect(ev).toMatchObject({ seq: 0, kind: 'user.login', actor: 'svc:web', id: 'evt-1', payload: { n: 1, user: 'alice' } });
    verifyEventSignature(ev, Keyring.load(path.join(f.dir, 'keyring.json')));
  });

  it('JSONL on stdin is one atomic batch; --json prints the summary; retried ids are not appended twice', async () => {
    f = await signedLedger(3);
    const input = ['{"kind":"a","payload":1,"id":"x-1"}', '', '{"kind":"b","payload":{"k":[1,2]},"actor":"bob","id":"x-2"}', ''].join('\n');
    const r = cli(['append', f.dir, '--key', f.keyPath, '--json'], { input });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { appended: number; alreadyPresent: number; firstSeq: number; lastSeq: number; head: { seq: number; size: number } };
    expect(out).toMatchObject({ appended: 2, alreadyPresent: 0, firstSeq: 3, lastSeq: 4, head: { seq: 4, size: 5 } });
    const again = JSON.parse(cli(['append', f.dir, '--key', f.keyPath, '--json'], { input }).stdout) as typeof out;
    expect(again).toMatchObject({ appended: 0, alreadyPresent: 2, firstSeq: 3, lastSeq: 4 });
    expect(jsonlLines(f.dir)).toHaveLength(5);
  });

  it.each([
    ['not JSON', '{"kind":"ok","payload":1}\n{"kind":"ok","payload":2}\n{"kind":"bad" "payload":3}\n', 'INVALID_JSON', /^sealed-ledger: INVALID_JSON: stdin line 3: not valid JSON/],
    ['an invalid kind', '{"kind":"ok","payload":1}\n{"kind":"9 bad","payload":2}\n', 'INVALID_EVENT', /stdin line 2: kind: must match/],
    ['an unknown field', '\n\n{"kind":"ok","payload":1,"extra":true}\n', 'INVALID_EVENT', /stdin line 3: extra: unknown field/],
    ['a missing payload', '{"kind":"ok"}\n', 'INVALID_EVENT', /stdin line 1: payload: is required/],
    ['an array', '[1,2]\n', 'INVALID_EVENT', /stdin line 1: event: must be an object/],
  ])('malformed stdin (%s): exit 65, the line number, nothing written', async (_what, input, code, message) => {
    f = await signedLedger(2);
    const before = snapshot(f.dir);
    const r = cli(['append', f.dir, '--key', f.keyPath], { input });
    expect(r.code).toBe(EXIT.DATAERR);
    expect(expectOneErrorLine(r.stderr, code)).toMatch(message);
    expect(r.stdout).toBe('');
    expect(snapshot(f.dir)).toEqual(before);
  });

  it('a duplicate id with other content inside the batch names its line, nothing written', async () => {
    f = await signedLedger(0);
    const input = '{"kind":"a","payload":1,"id":"dup"}\n{"kind":"a","payload":2}\n{"kind":"a","payload":3,"id":"dup"}\n';
    const r = cli(['append', f.dir, '--key', f.keyPath], { input });
    expect(r.code).toBe(EXIT.DATAERR);
    expect(expectOneErrorLine(r.stderr, 'IDEMPOTENCY_CONFLICT')).toContain('stdin line 3');
    expect(fs.statSync(path.join(f.dir, 'events.jsonl')).size).toBe(0);
  });

  it('flag errors: --payload not JSON (65), --payload without --kind (64)', async () => {
    f = await signedLedger(0);
    const bad = cli(['append', f.dir, '--kind', 'k', '--payload', '{nope']);
    expect(bad.code).toBe(EXIT.DATAERR);
    expect(expectOneErrorLine(bad.stderr, 'INVALID_JSON')).toContain('--payload');
    const orphan = cli(['append', f.dir, '--payload', '1']);
    expect(orphan.code).toBe(EXIT.USAGE);
    expectOneErrorLine(orphan.stderr, 'INVALID_ARGUMENT');
    expect(fs.statSync(path.join(f.dir, 'events.jsonl')).size).toBe(0);
  });

  it('empty stdin appends nothing and succeeds', async () => {
    f = await signedLedger(1);
    const r = cli(['append', f.dir, '--json'], { input: '' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ appended: 0, firstSeq: null, lastSeq: null, head: { seq: 0 } });
  });

  it('another writer holding the lock: LOCK_TIMEOUT, exit 75, nothing written', async () => {
    f = await signedLedger(1);
    const before = snapshot(f.dir);
    const r = sql(f.dir, (db) => {
      db.exec('BEGIN IMMEDIATE');
      try {
        return cli(['--lock-timeout', '200', 'append', f.dir, '--kind', 'k']);
      } finally {
        db.exec('ROLLBACK');
      }
    });
    expect(r.code).toBe(EXIT.TEMPFAIL);
    expect(expectOneErrorLine(r.stderr, 'LOCK_TIMEOUT')).toContain('200 ms');
    expect(snapshot(f.dir)).toEqual(before);
  });
});
