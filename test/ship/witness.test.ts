// spec §20.10: checkpoints witnessed while shipping, against a real collector (SQLite, in this
// process) serving the witness. Both signing forms: in process (ledger.checkpoint) and the
// sidecar form (a note over the root the shipper re-hashed from events.jsonl).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { createCollectorServer } from '../../src/collector/server.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { cosignedNote, readWitnessLog } from '../../src/ledger/witness-log.js';
import { verifyCosignatures } from '../../src/merkle/cosignature.js';
import { verifyCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import { verifierKeyString } from '../../src/merkle/verifier-key.js';
import type { ShipLogRecord } from '../../src/ship/options.js';
import { appendN, cleanupShipTests, onCleanup, ship, until } from './ship-helpers.js';
import { leavesRoot, type Setup, setup, truncateTo } from './witness-setup.js';

afterEach(cleanupShipTests);

/** Every record verifies under the witness key and names the root of events.jsonl at its size. */
function expectRecordsVerify(s: Setup): number[] {
  const records = readWitnessLog(s.dir).map((l) => l.record!);
  for (const r of records) {
    expect(verifyCosignatures(cosignedNote(r), [s.witnessVkey]).length).toBe(1);
    const cp = verifyCheckpoint(r.note, [verifierKeyString(s.key.name, s.key.publicKey)]);
    expect(cp.size).toBe(r.size);
    expect(cp.rootHash.toString('hex')).toBe(r.root);
    expect(r.root).toBe(leavesRoot(s.dir, r.size));
    expect(r.witness).toBe('witness.example/w1');
  }
  return records.map((r) => r.size);
}

describe('checkpoints witnessed while shipping (spec §20.10)', () => {
  it('sidecar form: every N events a note over the shipped lines is cosigned and kept in witness.jsonl', async () => {
    const s = await setup();
    const writer = await Ledger.open({ dir: s.dir, signer: s.key });
    onCleanup(() => writer.close());
    await appendN(writer, 250);
    const logs: ShipLogRecord[] = [];
    const shipper = ship({ dir: s.dir, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 100, checkpointEveryMs: 60_000 }, logs);
    // A backlog is checkpointed at what was shipped when the checkpoint fell due.
    await until(() => shipper.status().shippedThrough === 249 && shipper.status().witness?.witnessedSize === 250, 30_000, 'witnessed 250');
    await appendN(writer, 100);
    await until(() => shipper.status().witness?.witnessedSize === 350, 30_000, 'witnessed 350');
    const sizes = expectRecordsVerify(s);
    expect(sizes).toEqual([250, 350]);
    // The sidecar never wrote checkpoints.jsonl (it holds no writer lock); the collector holds the last.
    expect(fs.existsSync(path.join(s.dir, 'checkpoints.jsonl'))).toBe(false);
    const res = await fetch(`${s.url}/v1/sources/host-a/checkpoint`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('\n350\n');
    expect(shipper.status().witness).toMatchObject({ state: 'running', lastError: null });
    expect(logs.filter((l) => l.msg === 'checkpoint witnessed').map((l) => l.size)).toEqual([250, 350]);
  });

  it('in process: ledger.checkpoint signs, the events it covers are shipped first, then it is witnessed', async () => {
    const s = await setup();
    const ledger = await Ledger.open({ dir: s.dir, signer: s.key });
    onCleanup(() => ledger.close());
    const shipper = ship({ ledger, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 1, checkpointEveryMs: 60_000 });
    await appendN(ledger, 120);
    await until(() => shipper.status().shippedThrough === 119 && shipper.status().witness?.witnessedSize === 120, 30_000, 'witnessed 120');
    const sizes = expectRecordsVerify(s);
    expect(sizes.at(-1)).toBe(120);
    // In process the checkpoint is the ledger's own: it is in checkpoints.jsonl too.
    expect(ledger.checkpoints().map((c) => c.size)).toEqual(expect.arrayContaining(sizes));
  });

  it('the time bound: a checkpoint after checkpointEveryMs even below N events', async () => {
    const s = await setup();
    const writer = await Ledger.open({ dir: s.dir, signer: s.key });
    onCleanup(() => writer.close());
    await appendN(writer, 7);
    const shipper = ship({ dir: s.dir, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 10_000, checkpointEveryMs: 300 });
    await until(() => shipper.status().witness?.witnessedSize === 7, 30_000, 'witnessed 7');
    expect(expectRecordsVerify(s)).toEqual([7]);
  });
});

describe('witness statuses (spec §20.10): the witness halts on its own, events keep shipping', () => {
  it('403: the checkpoint key is not registered; halted, retried, resumes once it is', async () => {
    const s = await setup({ register: false });
    const writer = await Ledger.open({ dir: s.dir, signer: s.key });
    onCleanup(() => writer.close());
    await appendN(writer, 30);
    const logs: ShipLogRecord[] = [];
    const shipper = ship({ dir: s.dir, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 10 }, logs);
    await until(() => shipper.status().witness?.state === 'halted', 30_000, 'witness halted');
    expect(shipper.status().witness?.lastError).toMatchObject({ code: 'WITNESS_FORBIDDEN', status: 403 });
    expect(logs.find((l) => l.msg === 'witness state' && l.state === 'halted')).toMatchObject({ level: 'error' });
    // Events are not held back by the witness.
    await appendN(writer, 20);
    await until(() => shipper.status().shippedThrough === 49, 30_000, 'shipped 50');
    expect(shipper.status().state).toBe('running');
    expect(fs.existsSync(path.join(s.dir, 'witness.jsonl'))).toBe(false);
    await until(() => logs.some((l) => l.msg === 'witness still halted'), 30_000, 'retried');
    await s.collector.sources.addKeys('host-a', { checkpointKeys: [verifierKeyString(s.key.name, s.key.publicKey)] });
    await until(() => (shipper.status().witness?.witnessedSize ?? 0) >= 30, 30_000, 'witnessed after the key was registered');
    expect(shipper.status().witness).toMatchObject({ state: 'running', lastError: null });
    expectRecordsVerify(s);
  });

  /** 40 events shipped and witnessed at 40 by a sidecar that is then stopped. */
  async function witnessedAt40(): Promise<Setup> {
    const s = await setup();
    const writer = await Ledger.open({ dir: s.dir, signer: s.key });
    await appendN(writer, 40);
    await writer.close();
    const first = ship({ dir: s.dir, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 1 });
    await until(() => first.status().witness?.witnessedSize === 40, 30_000, 'witnessed 40');
    await first.stop({ drainMs: 0 });
    return s;
  }

  it('a host cut below the witnessed size: WITNESS_AHEAD, and nothing smaller is cosigned', async () => {
    const s = await witnessedAt40();
    truncateTo(s.dir, 30);
    await (await Ledger.open({ dir: s.dir })).close();
    const logs: ShipLogRecord[] = [];
    const shipper = ship({ dir: s.dir, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 1 }, logs);
    await until(() => shipper.status().witness?.state === 'halted', 30_000, 'witness halted');
    expect(shipper.status().witness).toMatchObject({ witnessedSize: 40, lastError: { code: 'WITNESS_AHEAD' } });
    expect(readWitnessLog(s.dir).map((l) => l.record!.size)).toEqual([40]);
    expect(await (await fetch(`${s.url}/v1/sources/host-a/checkpoint`)).text()).toMatch(/\n40\n/);
  });

  it('a rewritten history submitted at the witnessed size (witness.jsonl gone): 409 resync, then WITNESS_CONFLICT and fork evidence', async () => {
    const s = await witnessedAt40();
    truncateTo(s.dir, 30);
    const w = await Ledger.open({ dir: s.dir, signer: s.key });
    await appendN(w, 10, 'rewritten.event');
    await w.close();
    fs.rmSync(path.join(s.dir, 'witness.jsonl'));
    const logs: ShipLogRecord[] = [];
    const shipper = ship({ dir: s.dir, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 1 }, logs);
    await until(() => shipper.status().witness?.state === 'halted', 30_000, 'witness halted');
    expect(logs.find((l) => l.msg === 'witness holds another size; resyncing')).toMatchObject({ sent: 0, known: 40 });
    expect(shipper.status().witness?.lastError).toMatchObject({ code: 'WITNESS_CONFLICT', status: 409 });
    expect(shipper.status().lastError).toMatchObject({ code: 'FORK', seq: 39 }); // the events halted too, on their own
    expect(fs.existsSync(path.join(s.dir, 'witness.jsonl'))).toBe(false);
    const head = (await (await fetch(`${s.url}/v1/sources/host-a`, { headers: { authorization: `Bearer ${s.token}` } })).json()) as { forks: number };
    expect(head.forks).toBeGreaterThanOrEqual(2); // the event fork and the checkpoint's root conflict
  });

  it('404: a collector that serves no witness; halted with WITNESS_UNKNOWN_LOG, events shipped', async () => {
    const s = await setup();
    const plain = await createCollectorServer({ db: s.db.replace('collector.sqlite', 'plain.sqlite'), rateLimit: false });
    onCleanup(() => plain.close());
    const { token } = await plain.sources.add({ name: 'host-a', eventKeys: [{ kid: s.key.kid, name: s.key.name, publicKey: s.key.publicKey }], origin: 'example.com/host-a' });
    const url = await plain.listen();
    const writer = await Ledger.open({ dir: s.dir, signer: s.key });
    onCleanup(() => writer.close());
    await appendN(writer, 25);
    const shipper = ship({ dir: s.dir, url, token, checkpointKey: s.key, checkpointEveryEvents: 10 });
    await until(() => shipper.status().witness?.state === 'halted', 30_000, 'witness halted');
    expect(shipper.status().witness?.lastError).toMatchObject({ code: 'WITNESS_UNKNOWN_LOG', status: 404 });
    await until(() => shipper.status().shippedThrough === 24, 30_000, 'shipped');
  });
});

describe('verify against witness.jsonl (spec §20.10)', () => {
  /** A ledger of `n` events shipped and witnessed at size n by the sidecar form. */
  async function witnessed(n: number): Promise<Setup> {
    const s = await setup();
    const writer = await Ledger.open({ dir: s.dir, signer: s.key });
    await appendN(writer, n);
    await writer.close();
    const shipper = ship({ dir: s.dir, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 1, checkpointEveryMs: 60_000 });
    await until(() => shipper.status().witness?.witnessedSize === n, 30_000, `witnessed ${n}`);
    await shipper.stop({ drainMs: 0 });
    return s;
  }
  const codes = (r: { problems: { code: string }[] }) => r.problems.map((p) => p.code);

  it('reports who witnessed up to which size, verified with the witness key', async () => {
    const s = await witnessed(40);
    const plain = await verifyLedger({ dir: s.dir });
    expect(plain.ok).toBe(true);
    expect(plain.witness).toMatchObject({ file: true, records: 1, witness: 'witness.example/w1', size: 40, verified: false });
    const keyed = await verifyLedger({ dir: s.dir }, { witnessKeys: [s.witnessVkey] });
    expect(keyed.ok).toBe(true);
    expect(keyed.witness).toMatchObject({ witness: 'witness.example/w1', size: 40, verified: true });
  });

  it('a ledger truncated below the witnessed size fails with WITNESS_INCONSISTENT', async () => {
    const s = await witnessed(40);
    truncateTo(s.dir, 30);
    const r = await verifyLedger({ dir: s.dir }, { witnessKeys: [s.witnessVkey] });
    expect(r.ok).toBe(false);
    expect(codes(r)).toContain('WITNESS_INCONSISTENT');
  });

  it('a history rewritten below the witnessed size (re-sealed, then longer) fails with WITNESS_INCONSISTENT', async () => {
    const s = await witnessed(40);
    truncateTo(s.dir, 30);
    const w = await Ledger.open({ dir: s.dir, signer: s.key });
    await appendN(w, 20, 'rewritten.event'); // past the witnessed size: the root at 40 differs
    await w.close();
    // Everything else in the folder passes: only the witness record catches it (even unverified).
    const plain = await verifyLedger({ dir: s.dir });
    expect(codes(plain)).toEqual(['WITNESS_INCONSISTENT']);
    fs.renameSync(path.join(s.dir, 'witness.jsonl'), path.join(s.dir, 'witness.aside'));
    expect((await verifyLedger({ dir: s.dir })).ok).toBe(true);
    fs.renameSync(path.join(s.dir, 'witness.aside'), path.join(s.dir, 'witness.jsonl'));
    const r = await verifyLedger({ dir: s.dir }, { witnessKeys: [s.witnessVkey] });
    expect(r.events).toBe(50);
    expect(codes(r)).toEqual(['WITNESS_INCONSISTENT']);
  });

  it('witness.jsonl deleted: passes without a witness key (and says so), fails with WITNESS_MISSING with one', async () => {
    const s = await witnessed(20);
    fs.rmSync(path.join(s.dir, 'witness.jsonl'));
    const plain = await verifyLedger({ dir: s.dir });
    expect(plain.ok).toBe(true);
    expect(plain.witness).toMatchObject({ file: false, size: null });
    const r = await verifyLedger({ dir: s.dir }, { witnessKeys: [s.witnessVkey] });
    expect(r.ok).toBe(false);
    expect(codes(r)).toEqual(['WITNESS_MISSING']);
  });

  it('a forged or edited record does not count: WITNESS_INVALID, and WITNESS_MISSING when none is left', async () => {
    const s = await witnessed(20);
    const file = path.join(s.dir, 'witness.jsonl');
    const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as { cosignatures: string[]; root: string };
    // Another witness key's cosignature (an attacker's own witness): not by the given key.
    const other = JSON.parse(fs.readFileSync(file, 'utf8')) as { cosignatures: string[]; witness: string };
    other.cosignatures = [other.cosignatures[0]!.replace('witness.example/w1', 'attacker.example/w')];
    fs.writeFileSync(file, JSON.stringify(other) + '\n');
    let r = await verifyLedger({ dir: s.dir }, { witnessKeys: [s.witnessVkey] });
    expect(codes(r)).toEqual(['WITNESS_INVALID', 'WITNESS_MISSING']);
    // A flipped signature byte under the right name: INVALID_SIGNATURE inside, the record does not count.
    const sig = rec.cosignatures[0]!;
    const raw = Buffer.from(sig.split(' ')[2]!, 'base64');
    raw[raw.length - 1]! ^= 1;
    fs.writeFileSync(file, JSON.stringify({ ...rec, cosignatures: [`${sig.split(' ').slice(0, 2).join(' ')} ${raw.toString('base64')}`] }) + '\n');
    r = await verifyLedger({ dir: s.dir }, { witnessKeys: [s.witnessVkey] });
    expect(codes(r)).toEqual(['WITNESS_INVALID', 'WITNESS_MISSING']);
    // The root beside the note edited: the record contradicts its own note.
    fs.writeFileSync(file, JSON.stringify({ ...rec, root: 'ab'.repeat(32) }) + '\n');
    r = await verifyLedger({ dir: s.dir });
    expect(codes(r)).toEqual(['WITNESS_INVALID']);
  });
});

describe('the collector\'s latest cosigned checkpoint, fetched from outside the folder', () => {
  it('catches a truncation whose newer witness.jsonl records were removed too', async () => {
    const s = await setup();
    const writer = await Ledger.open({ dir: s.dir, signer: s.key });
    await appendN(writer, 20);
    const shipper = ship({ dir: s.dir, url: s.url, token: s.token, checkpointKey: s.key, checkpointEveryEvents: 1 });
    await until(() => shipper.status().witness?.witnessedSize === 20, 30_000, 'witnessed 20');
    await appendN(writer, 20);
    await writer.close();
    await until(() => shipper.status().witness?.witnessedSize === 40, 30_000, 'witnessed 40');
    await shipper.stop({ drainMs: 0 });
    // The attacker cuts the ledger to 30 events and drops the record of size 40.
    truncateTo(s.dir, 30);
    await (await Ledger.open({ dir: s.dir })).close(); // a consistent folder again: ledger.db rebuilt
    const file = path.join(s.dir, 'witness.jsonl');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').split('\n')[0] + '\n');
    const local = await verifyLedger({ dir: s.dir }, { witnessKeys: [s.witnessVkey] });
    expect(local.problems).toEqual([]);
    expect(local.ok).toBe(true); // what the folder alone can show
    expect(local.witness).toMatchObject({ size: 20, verified: true });
    const latest = await (await fetch(`${s.url}/v1/sources/host-a/checkpoint`)).text();
    const r = await verifyLedger({ dir: s.dir }, { witnessKeys: [s.witnessVkey], witnessedCheckpoints: [latest] });
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.code)).toEqual(['WITNESS_INCONSISTENT']);
    expect(r.witness).toMatchObject({ size: 40, witness: 'witness.example/w1' });
    // A fetched note whose cosignature is not by the given key does not count.
    const forged = await verifyLedger({ dir: s.dir }, { witnessKeys: [s.witnessVkey], witnessedCheckpoints: [latest.replace(/^\u2014 witness\.example\/w1 /m, '\u2014 witness.example/w2 ')] });
    expect(forged.problems.map((p) => p.code)).toEqual(['WITNESS_INVALID']);
  });
});
