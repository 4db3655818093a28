// spec §18.3, §18.5: every malformed line, bad request and fork gets its status and code, the
// lines before a bad line are accepted, and nothing of a rejected line is stored. Both backends.
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { sealRecord, withSignature } from '../../src/format/seal.js';
import { signatureFor } from '../../src/format/signature.js';
import { BACKENDS, HostChain, keyEntry, removeTempDirs, startCollector, type TestCollector } from './support.js';

afterAll(removeTempDirs);

async function storedBody(t: TestCollector): Promise<string> {
  const r = await t.collector.inject({ method: 'GET', url: `/v1/sources/${t.source}/events`, headers: { authorization: `Bearer ${t.token}` } });
  expect(r.statusCode).toBe(200);
  return r.body;
}

/** Sends lines 0..good-1 followed by `bad`; expects `status`/`code` and exactly the good lines stored. */
async function expectRejected(t: TestCollector, good: number, bad: string | Buffer, status: number, code: string): Promise<any> {
  const prefix = Buffer.from(t.host.body(0, good));
  const body = Buffer.concat([prefix, typeof bad === 'string' ? Buffer.from(bad) : bad]);
  const r = await t.post(body);
  expect({ status: r.status, code: r.json.code }).toEqual({ status, code });
  expect(await storedBody(t)).toBe(t.host.body(0, good));
  return r.json;
}

describe.each(BACKENDS)('ingest refusals on %s', (backend) => {
  it('422 for each bad line, with the lines before it accepted and the line itself not stored', async () => {
    const t = await startCollector(backend, { options: { limits: { maxPayloadBytes: 2000 } } });
    try {
      t.host.append(3);
      // A copy of the host's chain cut after `n` events, to write a different next line.
      const cutAt = (n: number) => {
        const other = new HostChain(t.host.key);
        other.lines.push(...t.host.lines.slice(0, n));
        other.hashes.push(...t.host.hashes.slice(0, n));
        return other;
      };
      // non-canonical: a space after a colon
      let r = await expectRejected(t, 2, t.host.lines[2]!.replace('"kind":', '"kind": ') + '\n', 422, 'MALFORMED_LINE');
      expect(r).toMatchObject({ accepted: 2, duplicates: 0, next: 2, line: 3 });
      // duplicate JSON keys
      await expectRejected(t, 2, t.host.lines[2]!.replace('{"at"', '{"at":"2026-01-01T00:00:00Z","at"') + '\n', 422, 'MALFORMED_LINE');
      // bad seal: canonical, but the content does not hash to `hash`
      await expectRejected(t, 2, t.host.lines[2]!.replace('"payload":{"n":2}', '"payload":{"n":7}') + '\n', 422, 'SEAL_MISMATCH');
      // not UTF-8
      await expectRejected(t, 2, Buffer.concat([Buffer.from(t.host.lines[2]!.replace('"n":2', '"n":"\u00e9"')).subarray(0, 40), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]), 422, 'MALFORMED_LINE');
      // unterminated last line
      await expectRejected(t, 2, t.host.lines[2]!, 422, 'MALFORMED_LINE');
      // wrong prev: a valid signed event at seq 2 that does not link to seq 1
      const rec = sealRecord({ kind: 'x', payload: 1, id: 'wrong-prev', at: '2026-01-01T00:00:00Z' }, { seq: 2, prev: 'ab'.repeat(32) });
      r = await expectRejected(t, 2, withSignature(rec, signatureFor(rec.hash, t.host.key!)).line + '\n', 422, 'CHAIN_BROKEN');
      expect(r.seq).toBe(2);
      // unknown key
      const stranger = generateSigningKey({ name: 'stranger' });
      await expectRejected(t, 2, cutAt(2).next({}, { signer: stranger }) + '\n', 422, 'UNKNOWN_KEY');
      // bad signature: the registered kid, a signature over another event
      const forged = t.host.lines[2]!.replace(/"value":"[^"]+"/, `"value":"${JSON.parse(t.host.lines[1]!).sig.value}"`);
      await expectRejected(t, 2, forged + '\n', 422, 'INVALID_SIGNATURE');
      // oversize payload (spec §3.1.1 limit of this collector: 2000 bytes)
      const big = cutAt(2).next({ payload: { s: 'x'.repeat(3000) } });
      await expectRejected(t, 2, big + '\n', 422, 'LIMIT_EXCEEDED');
      // id reused at a new seq
      await t.post(t.host.body(0, 3));
      const reuse = cutAt(3).next({ id: JSON.parse(t.host.lines[0]!).id });
      r = await expectRejected(t, 3, reuse + '\n', 422, 'IDEMPOTENCY_CONFLICT');
      expect(r.accepted).toBe(0);
      const m = await t.collector.inject('/metrics');
      expect(m.body).toMatch(/sealed_ledger_collector_events_rejected_total\{source="host-a",code="SEAL_MISMATCH"\} 1/);
    } finally {
      await t.close();
    }
  });

  it('signatures: required, retired keys, keys added later', async () => {
    const t = await startCollector(backend, { requireSignatures: true });
    try {
      t.host.append(2);
      const unsigned = new HostChain(t.host.key);
      unsigned.lines.push(...t.host.lines);
      unsigned.hashes.push(...t.host.hashes);
      await expectRejected(t, 2, unsigned.next({}, { signer: null }) + '\n', 422, 'SIGNATURE_REQUIRED');
      // retire the key at seq 3: seq 2 still verifies under it, seq 3 does not
      await t.collector.sources.retireKey(t.source, t.host.key!.kid, { seq: 3, at: '2030-01-01T00:00:00Z' });
      t.host.append(2);
      await expectRejected(t, 3, t.host.lines[3]! + '\n', 422, 'KEY_NOT_VALID');
      // a new key registered for seq >= 3 lets the host go on
      const next = generateSigningKey({ name: 'host-key-2' });
      await t.collector.sources.addKeys(t.source, { eventKeys: [keyEntry(next, { validFromSeq: 3 })] });
      const rotated = new HostChain(next);
      rotated.lines.push(...t.host.lines.slice(0, 3));
      rotated.hashes.push(...t.host.hashes.slice(0, 3));
      rotated.next();
      const r = await t.post(rotated.body(3));
      expect(r.json).toMatchObject({ accepted: 1, next: 4 });
    } finally {
      await t.close();
    }
  });

  it('409 SEQ_GAP with next; 409 FORK with both lines kept, never overwritten, logged and counted', async () => {
    const logs: string[] = [];
    const t = await startCollector(backend, { options: { logger: { level: 'warn', stream: { write: (s: string) => logs.push(s) } } } });
    try {
      t.host.append(6);
      let r = await t.post(t.host.body(3));
      expect(r.status).toBe(409);
      expect(r.json).toMatchObject({ code: 'SEQ_GAP', next: 0, accepted: 0, head: null, seq: 3 });
      r = await t.post(t.host.body(0, 4));
      expect(r.json).toMatchObject({ accepted: 4, next: 4 });
      // the host rewrites seq 2 after shipping it, and everything after it
      const rewritten = new HostChain(t.host.key);
      rewritten.lines.push(...t.host.lines.slice(0, 2));
      rewritten.hashes.push(...t.host.hashes.slice(0, 2));
      rewritten.next({ payload: { n: 'rewritten' } });
      rewritten.next();
      r = await t.post(rewritten.body(0));
      expect(r.status).toBe(409);
      expect(r.json).toMatchObject({ code: 'FORK', seq: 2, duplicates: 2, accepted: 0, next: 4, head: { seq: 3, hash: t.host.hashes[3] } });
      // a second attempt adds evidence; the first row is not changed
      r = await t.post(rewritten.body(2));
      expect(r.json.code).toBe('FORK');
      const db = t.collector.database.db;
      const forks = await db.selectFrom('forks').selectAll().orderBy('id').execute();
      expect(forks).toHaveLength(2);
      for (const f of forks) {
        expect(f).toMatchObject({ source: 'host-a', kind: 'event', seq: 2 });
        expect(Buffer.from(f.stored).toString()).toBe(t.host.lines[2]);
        expect(Buffer.from(f.offered).toString()).toBe(rewritten.lines[2]);
      }
      await expect(db.updateTable('forks').set({ reason: 'x' }).execute()).rejects.toThrow(/evidence/);
      await expect(db.deleteFrom('forks').execute()).rejects.toThrow(/evidence/);
      expect(await storedBody(t)).toBe(t.host.body(0, 4));
      const m = await t.collector.inject('/metrics');
      expect(m.body).toMatch(/sealed_ledger_collector_forks_total\{source="host-a",kind="event"\} 2/);
      const forkLogs = logs.map((l) => JSON.parse(l)).filter((l) => /FORK/.test(l.msg));
      expect(forkLogs).toHaveLength(2);
      expect(forkLogs[0].level).toBe(50); // pino's "error"
      const summary = await t.collector.inject({ url: '/v1/sources/host-a', headers: { authorization: `Bearer ${t.token}` } });
      expect(summary.json()).toMatchObject({ source: 'host-a', forks: 2, next: 4 });
    } finally {
      await t.close();
    }
  });

  it('401, 403, 404 and SQL-looking names; 413, 415, gzip and the gzip bomb', async () => {
    const t = await startCollector(backend, { options: { limits: { maxLines: 10, maxBodyBytes: 20_000 } } });
    try {
      const other = await t.collector.sources.add({ name: 'host-b' });
      t.host.append(12);
      const body = t.host.body(0, 2);
      expect((await t.post(body, { token: null })).json.code).toBe('UNAUTHORIZED');
      expect((await t.post(body, { token: 'slc_' + 'A'.repeat(43) })).status).toBe(401);
      expect((await t.post(body, { token: 'garbage' })).status).toBe(401);
      const forbidden = await t.post(body, { token: other.token });
      expect({ status: forbidden.status, code: forbidden.json.code }).toEqual({ status: 403, code: 'FORBIDDEN' });
      const unknown = await t.post(body, { source: 'nope' });
      expect({ status: unknown.status, code: unknown.json.code }).toEqual({ status: 404, code: 'UNKNOWN_SOURCE' });
      for (const evil of ["x'%3B%20DROP%20TABLE%20events%3B--", 'a%20OR%201%3D1', '..%2F..%2Fetc', 'HOST-A']) {
        const r = await t.post(body, { source: evil });
        expect([r.status, r.json.code], evil).toEqual([404, 'UNKNOWN_SOURCE']);
      }
      expect((await t.post(body, { headers: { 'content-type': 'application/json' } })).json.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect((await t.post(body, { headers: { 'content-type': 'text/plain' } })).status).toBe(415);
      expect((await t.post(body, { headers: { 'content-encoding': 'br' } })).status).toBe(415);
      const tooMany = await t.post(t.host.body(0, 11));
      expect({ status: tooMany.status, code: tooMany.json.code, next: tooMany.json.next }).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE', next: 0 });
      const tooBig = await t.post('x'.repeat(20_001));
      expect([tooBig.status, tooBig.json.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      // gzip within the limit is accepted
      const gz = await t.post(gzipSync(Buffer.from(t.host.body(0, 3))), { headers: { 'content-encoding': 'gzip' } });
      expect(gz.json).toMatchObject({ accepted: 3, next: 3 });
      // a bomb: about 15 KB that inflate to 15 MB, 750 times the limit
      const bomb = gzipSync(Buffer.alloc(15_000_000, 0x0a));
      expect(bomb.length).toBeLessThan(20_000);
      const b = await t.post(bomb, { headers: { 'content-encoding': 'gzip' } });
      expect([b.status, b.json.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      const notGzip = await t.post('not gzip', { headers: { 'content-encoding': 'gzip' } });
      expect([notGzip.status, notGzip.json.code]).toEqual([400, 'MALFORMED_BODY']);
      expect(await storedBody(t)).toBe(t.host.body(0, 3));
      expect(await t.collector.database.db.selectFrom('events').select('seq').execute()).toHaveLength(3);
    } finally {
      await t.close();
    }
  });

  it('429 with Retry-After over the per-source rate', async () => {
    const t = await startCollector(backend, { options: { rateLimit: { batchesPerSecond: 1, burst: 2 } } });
    try {
      t.host.append(1);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push(await t.post(t.host.body(0)));
      expect(statuses.map((s) => s.status)).toEqual([200, 200, 429, 429]);
      expect(statuses[2]!.json.code).toBe('RATE_LIMITED');
      expect(Number(statuses[2]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      await t.close();
    }
  });

  it('a slow client is cut off by the request timeout', async () => {
    const t = await startCollector(backend, { options: { requestTimeoutMs: 700 } });
    try {
      const url = new URL(await t.collector.listen());
      t.host.append(1);
      const socket = net.connect(Number(url.port), url.hostname);
      const started = Date.now();
      const answer = await new Promise<string>((resolve) => {
        let got = '';
        socket.on('data', (d) => (got += d.toString()));
        socket.on('close', () => resolve(got));
        socket.on('error', () => resolve(got));
        socket.write(
          `POST /v1/sources/${t.source}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n${t.host.lines[0]!.slice(0, 20)}`,
        );
      });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(answer === '' || /^HTTP\/1\.1 408/.test(answer)).toBe(true);
      expect(await storedBody(t)).toBe('');
    } finally {
      await t.close();
    }
  });
});
