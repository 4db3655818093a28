// spec §18.7: reads and operations on both backends: sources, streamed events, health,
// readiness, metrics; the library entry over real TCP; graceful close with a batch in flight.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { afterAll, describe, expect, it } from 'vitest';
import { createCollector } from '../../src/collector/index.js';
import { BACKENDS, newDatabase, removeTempDirs, startCollector } from './support.js';

afterAll(removeTempDirs);

describe.each(BACKENDS)('reads and operations on %s', (backend) => {
  it('GET /v1/sources[/{source}[/events]], /healthz, /readyz, /metrics', async () => {
    const t = await startCollector(backend, { options: { adminToken: 'admin-secret' } });
    try {
      t.host.append(25);
      expect((await t.post(t.host.body(0))).status).toBe(200);
      const auth = { authorization: `Bearer ${t.token}` };
      const one = await t.collector.inject({ url: '/v1/sources/host-a', headers: auth });
      expect(one.json()).toEqual({
        source: 'host-a', head: { seq: 24, hash: t.host.hashes[24] }, next: 25, lastEventAt: JSON.parse(t.host.lines[24]!).at, cosigned: null, forks: 0,
      });
      expect((await t.collector.inject({ url: '/v1/sources/host-a' })).statusCode).toBe(401);
      expect((await t.collector.inject({ url: '/v1/sources' })).statusCode).toBe(401);
      const all = await t.collector.inject({ url: '/v1/sources', headers: { authorization: 'Bearer admin-secret' } });
      expect(all.json().sources.map((s: { source: string }) => s.source)).toEqual(['host-a']);
      const range = await t.collector.inject({ url: '/v1/sources/host-a/events?from=10&limit=5', headers: auth });
      expect(range.headers['content-type']).toMatch(/application\/x-ndjson/);
      expect(range.body).toBe(t.host.body(10, 15));
      const asAdmin = await t.collector.inject({ url: '/v1/sources/host-a/events?from=20', headers: { authorization: 'Bearer admin-secret' } });
      expect(asAdmin.body).toBe(t.host.body(20));
      expect((await t.collector.inject({ url: '/v1/sources/host-a/events?from=-1', headers: auth })).statusCode).toBe(400);
      expect((await t.collector.inject({ url: '/v1/sources/nope/events', headers: auth })).statusCode).toBe(404);
      expect((await t.collector.inject('/healthz')).json()).toEqual({ status: 'ok' });
      expect((await t.collector.inject('/readyz')).json()).toMatchObject({ status: 'ready', database: backend });
      const metrics = (await t.collector.inject('/metrics')).body;
      expect(metrics).toMatch(/sealed_ledger_collector_events_accepted_total\{source="host-a"\} 25/);
      expect(metrics).toMatch(/sealed_ledger_collector_source_head_seq\{source="host-a"\} 24/);
      expect(metrics).toMatch(/sealed_ledger_collector_batch_duration_seconds_count\{outcome="200"\} 1/);
      expect(metrics).toMatch(/# TYPE sealed_ledger_collector_cosignatures_issued_total counter/);
    } finally {
      await t.close();
    }
  });

  it('the fleet listing: refused without an admin token configured; anonymous, source and read tokens cannot list others', async () => {
    // The attack: any client that can reach the collector enumerates every host and its head.
    const open = await startCollector(backend);
    try {
      const readToken = (await open.collector.sources.issueReadToken(open.source)).token;
      for (const headers of [{}, { authorization: `Bearer ${open.token}` }, { authorization: `Bearer ${readToken}` }, { authorization: 'Bearer anything' }]) {
        const r = await open.collector.inject({ url: '/v1/sources', headers });
        expect([r.statusCode, r.json().code]).toEqual([403, 'FORBIDDEN']);
        expect(r.body).not.toContain(open.source);
      }
    } finally {
      await open.close();
    }
    const t = await startCollector(backend, { options: { adminToken: 'admin-secret' } });
    try {
      const other = await t.collector.sources.add({ name: 'host-b' });
      const readToken = (await t.collector.sources.issueReadToken(t.source)).token;
      const anonymous = await t.collector.inject({ url: '/v1/sources' });
      expect([anonymous.statusCode, anonymous.json().code]).toEqual([401, 'UNAUTHORIZED']);
      for (const token of [t.token, other.token, readToken, 'admin-secre', 'admin-secret2']) {
        const r = await t.collector.inject({ url: '/v1/sources', headers: { authorization: `Bearer ${token}` } });
        expect([r.statusCode, r.json().code]).toEqual([403, 'FORBIDDEN']);
        expect(r.body).not.toMatch(/host-[ab]/);
      }
      // A source token reads its own source only.
      const cross = await t.collector.inject({ url: '/v1/sources/host-b', headers: { authorization: `Bearer ${t.token}` } });
      expect([cross.statusCode, cross.json().code]).toEqual([403, 'FORBIDDEN']);
      const all = await t.collector.inject({ url: '/v1/sources', headers: { authorization: 'Bearer admin-secret' } });
      expect(all.json().sources.map((s: { source: string }) => s.source)).toEqual(['host-a', 'host-b']);
    } finally {
      await t.close();
    }
  });

  it('createCollector serves over TCP; close() lets an in-flight batch finish, then refuses', async () => {
    const t = await startCollector(backend);
    await t.close();
    const c = await createCollector({ db: t.db, rateLimit: false });
    const url = await c.listen();
    t.host.append(1000);
    // A batch whose headers have arrived and whose body is still coming when close() starts.
    const body = Buffer.from(t.host.body(0));
    const req = http.request(`${url}/v1/sources/${t.source}/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/x-ndjson', 'content-length': body.length },
    });
    const answer = new Promise<{ status: number; json: any }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
      });
      req.on('error', reject);
    });
    req.write(body.subarray(0, 1000));
    await new Promise((r) => setTimeout(r, 300));
    const closing = c.close();
    await new Promise((r) => setTimeout(r, 100));
    req.end(body.subarray(1000));
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ accepted: 1000, next: 1000 });
    await closing;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    const again = await createCollector({ db: t.db });
    try {
      expect((await again.events.head(t.source))?.seq).toBe(999);
    } finally {
      await again.close();
    }
  });
});

describe('TLS', () => {
  it('serves HTTPS with --tls-cert/--tls-key material', async () => {
    const t = await startCollector('sqlite');
    await t.close();
    const dir = new URL('./fixtures/', import.meta.url);
    const cert = fs.readFileSync(new URL('localhost.cert.pem', dir));
    const c = await createCollector({ db: t.db, tls: { cert, key: fs.readFileSync(new URL('localhost.key.pem', dir)) } });
    try {
      const url = await c.listen();
      expect(url).toMatch(/^https:/);
      const body = await new Promise<string>((resolve, reject) => {
        https.get(`${url}/healthz`, { ca: cert, servername: 'localhost' }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve(b));
        }).on('error', reject);
      });
      expect(JSON.parse(body)).toEqual({ status: 'ok' });
    } finally {
      await c.close();
    }
  });
});

describe('database arguments', () => {
  it('refuses an empty --db and reports an unreachable PostgreSQL as UNAVAILABLE-class error at start', async () => {
    await expect(createCollector({ db: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(createCollector({ db: 'postgres://nobody@127.0.0.1:1/none' })).rejects.toThrow(/cannot migrate|ECONNREFUSED/);
    expect(await newDatabase('sqlite')).toMatch(/collector\.sqlite$/);
  });
});
