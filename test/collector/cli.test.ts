// spec §18.2, §18.9: the collector CLI end to end, on both backends: a real host ledger written
// by the CLI, registered with `collector sources add`, shipped, verified, exported, and restored
// with `replay --rebuild` byte for byte.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ensureBuilt, expectOneErrorLine } from '../cli/cli-harness.js';
import { createCollectorServer } from '../../src/collector/server.js';
import { BACKENDS, newDatabase, removeTempDirs, tempFolder } from './support.js';

beforeAll(() => ensureBuilt());
afterAll(removeTempDirs);

function ok(args: string[], input?: string) {
  const r = cli(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`sealed-ledger ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return r;
}

describe.each(BACKENDS)('collector CLI on %s', (backend) => {
  it('sources add, ship, list, verify, export + replay --rebuild restores the host byte for byte', async () => {
    const tmp = tempFolder();
    const host = path.join(tmp, 'host');
    ok(['keygen', '--out', path.join(tmp, 'k.json'), '--name', 'web-1-key']);
    ok(['init', host, '--key', path.join(tmp, 'k.json'), '--origin', 'example.com/web-1']);
    const input = Array.from({ length: 120 }, (_, i) => JSON.stringify({ kind: 'user.login', payload: { user: `u${i}`, note: 'ünïcödé ✓' }, actor: 'svc' })).join('\n') + '\n';
    ok(['append', host, '--key', path.join(tmp, 'k.json'), '--json'], input);
    ok(['append', host, '--kind', 'unsigned.event', '--payload', '{"x":1}', '--json']);
    const db = await newDatabase(backend, 'cli');
    const added = JSON.parse(ok(['collector', 'sources', 'add', 'web-1', '--db', db, '--keys', host, '--json']).stdout);
    expect(added).toMatchObject({ source: 'web-1', origin: 'example.com/web-1', keys: 1 });
    expect(added.token).toMatch(/^slc_/);
    const dup = cli(['collector', 'sources', 'add', 'web-1', '--db', db]);
    expect(dup.code).toBe(73);
    expectOneErrorLine(dup.stderr, 'SOURCE_EXISTS');
    const bad = cli(['collector', 'sources', 'add', "x'; DROP TABLE sources; --", '--db', db]);
    expect(bad.code).toBe(64);
    expectOneErrorLine(bad.stderr, 'INVALID_ARGUMENT');

    const hostBytes = fs.readFileSync(path.join(host, 'events.jsonl'));
    const lines = hostBytes.toString('utf8').split('\n').slice(0, -1);
    expect(lines).toHaveLength(121);
    const c = await createCollectorServer({ db, rateLimit: false });
    try {
      for (let i = 0; i < lines.length; i += 50) {
        const r = await c.inject({
          method: 'POST',
          url: '/v1/sources/web-1/events',
          headers: { authorization: `Bearer ${added.token}`, 'content-type': 'application/x-ndjson' },
          payload: lines.slice(i, i + 50).map((l) => l + '\n').join(''),
        });
        expect(r.statusCode, r.body).toBe(200);
      }
    } finally {
      await c.close();
    }
    const list = JSON.parse(ok(['collector', 'sources', 'list', '--db', db, '--json']).stdout);
    expect(list).toEqual([expect.objectContaining({ source: 'web-1', next: 121, forks: 0, cosigned: null })]);
    const show = JSON.parse(ok(['collector', 'sources', 'show', 'web-1', '--db', db, '--json']).stdout);
    expect(show).toMatchObject({ origin: 'example.com/web-1', requireSignatures: false, keys: [expect.objectContaining({ name: 'web-1-key' })] });
    expect(show.checkpointKeys[0].verifierKey).toMatch(/^web-1-key\+[0-9a-f]{8}\+/);
    expect(JSON.parse(ok(['collector', 'verify', '--db', db, '--json']).stdout)).toMatchObject({ ok: true, problems: [], sources: [{ source: 'web-1', events: 121 }] });

    // The host's disk dies. Export, rebuild, and the folder is the host's again.
    const restored = path.join(tmp, 'restored');
    ok(['collector', 'export', '--db', db, '--source', 'web-1', '--out', restored]);
    expect(fs.readFileSync(path.join(restored, 'events.jsonl')).equals(hostBytes)).toBe(true);
    fs.rmSync(host, { recursive: true });
    ok(['replay', '--rebuild', restored]);
    const v = cli(['verify', restored, '--json']);
    expect(v.code, v.stderr).toBe(0);
    expect(fs.readFileSync(path.join(restored, 'events.jsonl')).equals(hostBytes)).toBe(true);
    const again = cli(['collector', 'export', '--db', db, '--source', 'web-1', '--out', restored]);
    expect(again.code).not.toBe(0);
    expect(fs.readFileSync(path.join(restored, 'events.jsonl')).equals(hostBytes)).toBe(true);
  });

  it('rotate-token, add-key, retire-key; verify exits 2 on a tampered row', async () => {
    const tmp = tempFolder();
    const db = await newDatabase(backend, 'cli2');
    ok(['keygen', '--out', path.join(tmp, 'k1.json'), '--name', 'k-one']);
    ok(['keygen', '--out', path.join(tmp, 'k2.json'), '--name', 'k-two']);
    const vk1 = path.join(tmp, 'k1.vkey');
    fs.writeFileSync(vk1, ok(['verifier-key', path.join(tmp, 'k1.json')]).stdout);
    fs.writeFileSync(path.join(tmp, 'k2.vkey'), ok(['verifier-key', path.join(tmp, 'k2.json')]).stdout);
    const { token } = JSON.parse(ok(['collector', 'sources', 'add', 'db-7', '--db', db, '--keys', vk1, '--origin', 'example.com/db-7', '--require-signatures', '--json']).stdout);
    const { token: token2 } = JSON.parse(ok(['collector', 'sources', 'rotate-token', 'db-7', '--db', db, '--json']).stdout);
    expect(token2).not.toBe(token);
    ok(['collector', 'sources', 'add-key', 'db-7', '--db', db, '--keys', path.join(tmp, 'k2.vkey')]);
    const kid1 = JSON.parse(ok(['collector', 'sources', 'show', 'db-7', '--db', db, '--json']).stdout).keys.find((k: { name: string }) => k.name === 'k-one').kid;
    ok(['collector', 'sources', 'retire-key', 'db-7', kid1, '--db', db, '--at-seq', '5', '--at', '2100-01-01T00:00:00Z']);
    const shown = JSON.parse(ok(['collector', 'sources', 'show', 'db-7', '--db', db, '--json']).stdout);
    expect(shown.keys).toHaveLength(2);
    expect(shown.keys.find((k: { kid: string }) => k.kid === kid1).retiredAtSeq).toBe(5);
    expect(shown.checkpointKeys.filter((k: { retiredAt: string | null }) => k.retiredAt === null)).toHaveLength(1);
    const missing = cli(['collector', 'sources', 'show', 'nope', '--db', db]);
    expect(missing.code).toBe(66);
    expectOneErrorLine(missing.stderr, 'UNKNOWN_SOURCE');

    const host = path.join(tmp, 'host');
    ok(['init', host, '--key', path.join(tmp, 'k1.json')]);
    ok(['append', host, '--key', path.join(tmp, 'k1.json')], Array.from({ length: 4 }, (_, i) => JSON.stringify({ kind: 'k', payload: i })).join('\n') + '\n');
    const c = await createCollectorServer({ db, rateLimit: false });
    const send = (t: string, body: string) =>
      c.inject({ method: 'POST', url: '/v1/sources/db-7/events', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/x-ndjson' }, payload: body });
    const bytes = fs.readFileSync(path.join(host, 'events.jsonl'), 'utf8');
    try {
      expect((await send(token, bytes)).statusCode).toBe(401);
      const r = await send(token2, bytes);
      expect(r.json(), r.body).toMatchObject({ accepted: 4, next: 4 });
    } finally {
      await c.close();
    }
    expect(cli(['collector', 'verify', '--db', db]).code).toBe(0);

    // Someone with database access edits a stored line: verify finds it.
    const { openCollectorDatabase } = await import('../../src/collector/database.js');
    const h = await openCollectorDatabase(db);
    try {
      const row = await h.db.selectFrom('events').select(['line']).where('seq', '=', 2).executeTakeFirstOrThrow();
      const edited = Buffer.from(Buffer.from(row.line).toString().replace('"payload":2', '"payload":3'));
      await h.db.updateTable('events').set({ line: edited }).where('seq', '=', 2).execute();
    } finally {
      await h.close();
    }
    const tampered = cli(['collector', 'verify', '--db', db, '--json']);
    expect(tampered.code).toBe(2);
    expect(JSON.parse(tampered.stdout).problems.map((p: { code: string }) => p.code)).toContain('SEAL_MISMATCH');
  });
});
