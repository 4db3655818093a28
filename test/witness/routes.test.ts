/** The witness plugin on a bare Fastify app with the in-memory store (HTTP mapping only). */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { verifyCosignatures } from '../../src/merkle/cosignature.js';
import { verifyCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import { witnessRoutes } from '../../src/witness/routes.js';
import type { WitnessForkEvidence } from '../../src/witness/state.js';
import { randomSigner } from '../merkle/note-keys.js';
import { MemoryWitnessStore } from './memory-store.js';
import { ORIGIN, SOURCE, TestLog, body } from './helpers.js';
import { cosignatureVerifierOf } from '../../src/merkle/cosignature.js';

async function app() {
  const store = new MemoryWitnessStore();
  const log = new TestLog(16);
  store.addLog({ source: SOURCE, origin: ORIGIN, verifierKeys: [log.vkey] });
  const witnessKey = randomSigner('witness.example/w1');
  const issued: string[] = [];
  const forks: WitnessForkEvidence[] = [];
  const server = Fastify();
  await server.register(witnessRoutes, {
    store,
    witnessKey,
    cosignaturesIssued: { inc: ({ source }) => issued.push(source) },
    onFork: (_s, e) => forks.push(e),
    now: () => 1_750_000_000,
  });
  await server.ready();
  const post = (payload: Buffer | string, headers: Record<string, string> = { 'content-type': 'text/plain' }) =>
    server.inject({ method: 'POST', url: '/add-checkpoint', payload, headers });
  return { server, store, log, witnessKey, issued, forks, post };
}

describe('witness routes', () => {
  it('200 with cosignature lines; GET returns the cosigned note', async () => {
    const { server, log, witnessKey, issued, post } = await app();
    expect((await server.inject({ method: 'GET', url: `/v1/sources/${SOURCE}/checkpoint` })).statusCode).toBe(404);
    const res = await post(log.request(0, 8));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.body).toMatch(/^\u2014 witness\.example\/w1 [A-Za-z0-9+/]{102}==\n$/);
    expect(issued).toEqual([SOURCE]);
    const got = await server.inject({ method: 'GET', url: `/v1/sources/${SOURCE}/checkpoint` });
    expect(got.statusCode).toBe(200);
    expect(got.body).toBe(log.checkpoint(8) + res.body);
    expect(verifyCheckpoint(got.body, [log.vkey]).size).toBe(8);
    expect(verifyCosignatures(got.body, [cosignatureVerifierOf(witnessKey)])).toEqual([expect.objectContaining({ timestamp: 1_750_000_000 })]);
  });

  it('accepts any media type, or none', async () => {
    const { post, log } = await app();
    expect((await post(log.request(0, 4), { 'content-type': 'application/octet-stream' })).statusCode).toBe(200);
    expect((await post(log.request(4, 6), {})).statusCode).toBe(200);
    expect((await post(log.request(6, 7), { 'content-type': 'text/plain; charset=utf-8' })).statusCode).toBe(200);
  });

  it('409 is text/x.tlog.size with the known size', async () => {
    const { post, log } = await app();
    await post(log.request(0, 8));
    const res = await post(log.request(0, 12));
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toBe('text/x.tlog.size');
    expect(res.body).toBe('8\n');
  });

  it('400, 403, 404, 422 as text', async () => {
    const { post, log } = await app();
    expect((await post('old 00\n\nx\n')).statusCode).toBe(400);
    expect((await post('')).statusCode).toBe(400);
    expect((await post(body(0, [], log.checkpoint(4, [randomSigner(ORIGIN)])))).statusCode).toBe(403);
    const other = new TestLog(3, 'x', randomSigner('example.com/nope'));
    expect((await post(body(0, [], other.checkpoint(3, [other.logKey], 'example.com/nope')))).statusCode).toBe(404);
    await post(log.request(0, 8));
    const res = await post(body(8, [Buffer.alloc(32)], log.checkpoint(12)));
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('a fork is reported to onFork and answered 409', async () => {
    const { post, log, forks, store } = await app();
    await post(log.request(0, 8));
    const res = await post(log.fork(2).request(8, 8));
    expect(res.statusCode).toBe(409);
    expect(forks).toHaveLength(1);
    expect(store.forks).toHaveLength(1);
  });

  it('refuses a body over the limit', async () => {
    const { post } = await app();
    expect((await post(Buffer.alloc(70 * 1024, 0x41))).statusCode).toBe(413);
  });
});
