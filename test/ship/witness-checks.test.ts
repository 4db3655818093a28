// spec §20.10: the two shipper checks that ordinary runs never reach.
//  - 3. the root cross-check: the checkpoint's signed root must equal the shipper's own re-hash
//    of events.jsonl. In process, ledger.checkpoint() signs the ledger's own tree; events.jsonl
//    rewritten under the open ledger (same lengths, a re-signed history) is what the shipper
//    reads and ships, so the two disagree: CHECKPOINT_INCONSISTENT, nothing sent to the witness.
//  - 5. a 409 that names `old` itself halts at once (WITNESS_CONFLICT), without the resyncs a
//    409 naming another size gets.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { cosignatureVerifierKeyString } from '../../src/merkle/cosignature.js';
import { readWitnessLog } from '../../src/ledger/witness-log.js';
import type { ShipLogRecord } from '../../src/ship/options.js';
import { tempDir } from '../helpers.js';
import { appendN, cleanupShipTests, onCleanup, ship, until } from './ship-helpers.js';
import { setup, truncateTo } from './witness-setup.js';

afterEach(cleanupShipTests);

const AT = '2026-03-01T00:00:00.000Z';
const events = (n: number, v: string) => Array.from({ length: n }, (_, i) => ({ kind: 'race.event', id: `ev-${String(i).padStart(4, '0')}`, at: AT, payload: { i, v } }));

describe('the root cross-check (spec §20.10 item 3)', () => {
  it('events.jsonl rewritten between ledger.checkpoint() and the shipper hashing the lines it covers: CHECKPOINT_INCONSISTENT, nothing sent', async () => {
    const s = await setup();
    const ledger = await Ledger.open({ dir: s.dir, signer: s.key });
    onCleanup(() => ledger.close());
    await ledger.appendBatch(events(30, 'a'));
    // The same first 10 events, then 20 with another payload, sealed and signed by the same key
    // under the same origin in a folder of their own: byte for byte as long, a chain the
    // collector takes after the 10 it already holds.
    const t = tempDir('sealed-ledger-witness-race-');
    onCleanup(t.cleanup);
    const other = await Ledger.open({ dir: path.join(t.dir, 'other'), create: true, signer: s.key, origin: 'example.com/host-a' });
    await other.appendBatch([...events(10, 'a'), ...events(30, 'b').slice(10)]);
    await other.close();
    const forged = fs.readFileSync(path.join(t.dir, 'other', 'events.jsonl'));
    const file = path.join(s.dir, 'events.jsonl');
    const genuine = fs.readFileSync(file);
    expect(forged.length).toBe(genuine.length);
    const tenth = genuine.indexOf('\n', genuine.indexOf('"ev-0009"')) + 1;
    expect(forged.subarray(0, tenth).equals(genuine.subarray(0, tenth))).toBe(true);
    expect(forged.equals(genuine)).toBe(false);
    // The race, made deterministic: the ledger signs its head (30) when 10 are shipped, and the
    // file is rewritten the moment it has signed, before the shipper reads the other 20.
    const checkpoint = ledger.checkpoint.bind(ledger);
    let signed = 0;
    ledger.checkpoint = async (key) => {
      const note = await checkpoint(key);
      if (signed++ === 0) fs.writeFileSync(file, forged);
      return note;
    };

    const logs: ShipLogRecord[] = [];
    const shipper = ship({ ledger, url: s.url, token: s.token, maxBatchLines: 10, checkpointKey: s.key, checkpointEveryEvents: 5, checkpointEveryMs: 60_000 }, logs);
    await until(() => shipper.status().witness?.state === 'halted', 30_000, 'witness halted');
    expect(signed).toBe(1);
    expect(logs.find((l) => l.msg === 'checkpoint issued')).toMatchObject({ size: 30 });
    expect(shipper.status().witness?.lastError).toMatchObject({ code: 'CHECKPOINT_INCONSISTENT' });
    expect(logs.find((l) => l.msg === 'witness state' && l.state === 'halted')).toMatchObject({ level: 'error' });
    // Signed (checkpoints.jsonl has it) but never sent: the witness holds nothing, records no fork.
    expect(ledger.checkpoints().map((c) => c.size)).toEqual([30]);
    expect(fs.existsSync(path.join(s.dir, 'witness.jsonl'))).toBe(false);
    expect((await fetch(`${s.url}/v1/sources/host-a/checkpoint`)).status).toBe(404);
    const head = (await (await fetch(`${s.url}/v1/sources/host-a`, { headers: { authorization: `Bearer ${s.token}` } })).json()) as { next: number; forks: number };
    expect(head).toMatchObject({ next: 30, forks: 0 }); // the lines the shipper read were shipped
  });
});

describe('a 409 naming the old size (spec §20.10 item 5)', () => {
  it('halts WITNESS_CONFLICT on the first such answer, with no resync', async () => {
    const s = await setup();
    const w = await Ledger.open({ dir: s.dir, signer: s.key });
    await appendN(w, 50);
    await w.close();
    // Witnessed at 50; then 50 more shipped with no checkpoint key: the collector holds 100.
    const first = ship({ dir: s.dir, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 50, checkpointEveryMs: 600_000 });
    await until(() => first.status().witness?.witnessedSize === 50, 30_000, 'witnessed 50');
    await first.stop({ drainMs: 0 });
    const w2 = await Ledger.open({ dir: s.dir, signer: s.key });
    await appendN(w2, 50);
    await w2.close();
    const plain = ship({ dir: s.dir, url: s.url, token: s.token });
    await until(() => plain.status().shippedThrough === 99, 30_000, 'shipped 100');
    await plain.stop({ drainMs: 0 });
    // The host rewrites seqs 60..99 (re-sealed, re-signed). witness.jsonl still says 50, so the
    // next request is old 50 with a proof that holds from the cosigned root: the witness refuses
    // the new root only because the collector's stored events differ, and names 50.
    truncateTo(s.dir, 60);
    const w3 = await Ledger.open({ dir: s.dir, signer: s.key });
    await appendN(w3, 40, 'rewritten.event');
    await w3.close();
    expect(readWitnessLog(s.dir).map((l) => l.record!.size)).toEqual([50]);
    const logs: ShipLogRecord[] = [];
    const shipper = ship({ dir: s.dir, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 1 }, logs);
    await until(() => shipper.status().witness?.state === 'halted', 30_000, 'witness halted');
    expect(shipper.status().witness).toMatchObject({ witnessedSize: 50, lastError: { code: 'WITNESS_CONFLICT', status: 409, seq: 100 } });
    expect(logs.filter((l) => l.msg === 'witness holds another size; resyncing')).toEqual([]);
    expect(logs.filter((l) => l.msg === 'checkpoint issued')).toHaveLength(1);
    expect(shipper.status().lastError).toMatchObject({ code: 'FORK', seq: 99 }); // the events halted on their own
    const head = (await (await fetch(`${s.url}/v1/sources/host-a`, { headers: { authorization: `Bearer ${s.token}` } })).json()) as { forks: number };
    expect(head.forks).toBeGreaterThanOrEqual(2); // the event fork and the checkpoint's events mismatch
  });
});

/** An HTTP forwarder to `target` that can flip a byte of the witness's cosignature on the way back. */
async function tamperingForwarder(target: string): Promise<{ url: string; tamper: boolean; tampered: number }> {
  const state = { url: '', tamper: false, tampered: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection' && k !== 'content-length') headers[k] = v;
        const up = await fetch(target + req.url!, { method: req.method!, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
        let body = Buffer.from(await up.arrayBuffer());
        if (state.tamper && req.url === '/add-checkpoint' && up.status === 200) {
          // "— <name> <base64>": flip a bit of the signature's last byte, keep the name and key id.
          const [dash, name, b64] = body.toString('utf8').trim().split(' ');
          const raw = Buffer.from(b64!, 'base64');
          raw[raw.length - 1]! ^= 1;
          body = Buffer.from(`${dash} ${name} ${raw.toString('base64')}\n`);
          state.tampered++;
        }
        res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'text/plain' });
        res.end(body);
      })().catch((e: unknown) => {
        res.writeHead(502);
        res.end(String(e));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  onCleanup(() => new Promise<void>((r) => server.close(() => r())));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

describe('the shipper checks the cosignature it receives (spec §20.10, witnessKeys)', () => {
  it('a collector whose witness has another key: WITNESS_UNTRUSTED, nothing stored, events shipped', async () => {
    const s = await setup();
    const w = await Ledger.open({ dir: s.dir, signer: s.key });
    onCleanup(() => w.close());
    await appendN(w, 25);
    // The operator trusts a witness key this collector does not hold (same name, another key).
    const trusted = generateSigningKey({ name: 'witness.example/w1' });
    const logs: ShipLogRecord[] = [];
    const shipper = ship({ dir: s.dir, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 10, witnessKeys: [cosignatureVerifierKeyString(trusted.name, trusted.publicKey)] }, logs);
    await until(() => shipper.status().witness?.state === 'halted', 30_000, 'witness halted');
    expect(shipper.status().witness?.lastError).toMatchObject({ code: 'WITNESS_UNTRUSTED', status: 200, seq: 25, reason: 'no cosignature by a configured witness key' });
    expect(logs.find((l) => l.msg === 'witness state' && l.state === 'halted')).toMatchObject({ level: 'error' });
    await until(() => logs.some((l) => l.msg === 'witness still halted'), 30_000, 'retried');
    expect(shipper.status().witness?.lastError?.code).toBe('WITNESS_UNTRUSTED'); // retries stay untrusted, never a conflict
    expect(fs.existsSync(path.join(s.dir, 'witness.jsonl'))).toBe(false);
    await appendN(w, 5);
    await until(() => shipper.status().shippedThrough === 29, 30_000, 'events shipped regardless');
    expect(shipper.status().state).toBe('running');
  });

  it('a forged cosignature (one bit flipped on the way): WITNESS_UNTRUSTED, nothing stored; the genuine one is stored once it comes through', async () => {
    const s = await setup();
    const w = await Ledger.open({ dir: s.dir, signer: s.key });
    onCleanup(() => w.close());
    await appendN(w, 20);
    const fwd = await tamperingForwarder(s.url);
    fwd.tamper = true;
    const logs: ShipLogRecord[] = [];
    const shipper = ship({ dir: s.dir, url: fwd.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 10, witnessKeys: [s.witnessVkey] }, logs);
    await until(() => shipper.status().witness?.state === 'halted', 30_000, 'witness halted');
    expect(fwd.tampered).toBeGreaterThanOrEqual(1);
    expect(shipper.status().witness?.lastError).toMatchObject({ code: 'WITNESS_UNTRUSTED', seq: 20 });
    expect(shipper.status().witness?.lastError?.reason).toMatch(/^a cosignature does not verify/);
    expect(fs.existsSync(path.join(s.dir, 'witness.jsonl'))).toBe(false);
    // Without a witness key the same forged line would have been stored: the check is what stops it.
    fwd.tamper = false;
    await until(() => shipper.status().witness?.state === 'running' && readWitnessLog(s.dir).length === 1, 30_000, 'witnessed after the tampering stopped');
    expect(readWitnessLog(s.dir).map((l) => l.record!.size)).toEqual([20]);
    const r = await verifyLedger({ dir: s.dir }, { witnessKeys: [s.witnessVkey] });
    expect(r.ok).toBe(true);
  });

  it('witnessKeys is checked at start: not a key, or without checkpointKey', () => {
    expect(() => ship({ dir: '/nonexistent', url: 'http://127.0.0.1:1', witnessKeys: ['nope'], checkpointKey: generateSigningKey({ name: 'k' }) })).toThrow(/witnessKeys: nope is not a witness verifier key/);
    const k = generateSigningKey({ name: 'witness.example/x' });
    expect(() => ship({ dir: '/nonexistent', url: 'http://127.0.0.1:1', witnessKeys: [cosignatureVerifierKeyString(k.name, k.publicKey)] })).toThrow(/witnessKeys needs checkpointKey/);
  });
});

describe('witness.jsonl is never followed (spec §7.1, §20.10)', () => {
  it('verify refuses a symlinked witness.jsonl (or a FIFO) with LEDGER_CORRUPT naming it, as open refuses a symlinked checkpoints.jsonl', async () => {
    const s = await setup();
    const w = await Ledger.open({ dir: s.dir, signer: s.key });
    await appendN(w, 20);
    await w.close();
    const first = ship({ dir: s.dir, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 1 });
    await until(() => first.status().witness?.witnessedSize === 20, 30_000, 'witnessed 20');
    await first.stop({ drainMs: 0 });
    const file = path.join(s.dir, 'witness.jsonl');
    const t = tempDir('sealed-ledger-witness-link-');
    onCleanup(t.cleanup);
    const elsewhere = path.join(t.dir, 'witness.jsonl');
    fs.renameSync(file, elsewhere);
    fs.symlinkSync(elsewhere, file);
    const refused = verifyLedger({ dir: s.dir }, { witnessKeys: [s.witnessVkey] });
    await expect(refused).rejects.toMatchObject({ code: 'LEDGER_CORRUPT', details: { path: file } });
    await expect(refused).rejects.toThrow(/witness\.jsonl is a symbolic link; ledger files are never followed/);
    // The same code the ledger gives any of its files as a link.
    const checkpoints = path.join(s.dir, 'checkpoints.jsonl');
    fs.writeFileSync(path.join(t.dir, 'checkpoints.jsonl'), '');
    fs.symlinkSync(path.join(t.dir, 'checkpoints.jsonl'), checkpoints);
    await expect(Ledger.open({ dir: s.dir })).rejects.toMatchObject({ code: 'LEDGER_CORRUPT' });
    fs.rmSync(checkpoints);
    // A FIFO in its place: refused at once, never a blocked read.
    fs.rmSync(file);
    expect(spawnSync('mkfifo', [file]).status).toBe(0);
    await expect(verifyLedger({ dir: s.dir })).rejects.toThrow(/witness\.jsonl is not a regular file/);
    // The real file back: it verifies.
    fs.rmSync(file);
    fs.renameSync(elsewhere, file);
    expect((await verifyLedger({ dir: s.dir }, { witnessKeys: [s.witnessVkey] })).ok).toBe(true);
  });

  it('the shipper: witness halted LEDGER_CORRUPT, nothing written through the link, events shipped; resumes once the link is gone', async () => {
    const s = await setup();
    const w = await Ledger.open({ dir: s.dir, signer: s.key });
    onCleanup(() => w.close());
    await appendN(w, 20);
    const t = tempDir('sealed-ledger-witness-link-');
    onCleanup(t.cleanup);
    const target = path.join(t.dir, 'elsewhere.jsonl');
    fs.writeFileSync(target, '');
    const file = path.join(s.dir, 'witness.jsonl');
    fs.symlinkSync(target, file);
    const shipper = ship({ dir: s.dir, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 1 });
    await until(() => shipper.status().witness?.state === 'halted', 30_000, 'witness halted');
    expect(shipper.status().witness?.lastError).toMatchObject({ code: 'LEDGER_CORRUPT' });
    await until(() => shipper.status().shippedThrough === 19, 30_000, 'events shipped');
    expect(fs.readFileSync(target, 'utf8')).toBe('');
    fs.rmSync(file);
    await until(() => shipper.status().witness?.state === 'running' && readWitnessLog(s.dir).length === 1, 30_000, 'witnessed once the link is gone');
    expect(fs.lstatSync(file).isFile()).toBe(true);
    expect(fs.readFileSync(target, 'utf8')).toBe('');
  });
});
