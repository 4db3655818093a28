// spec §13.8: signing threads. A ledger that signs large requests on worker threads writes the
// same bytes, returns the same events and the same errors, and keeps the same quarantine records
// as one that signs on the appending thread; a thread that dies fails its request loudly and
// writes nothing. The threads run the compiled dist/ledger/sign-worker.js (`npm test` builds
// first; after editing src, run `npm run build`).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { Ledger, writerOf } from '../../src/ledger/ledger.js';
import { verifyLedger } from '../../src/audit/verify-ledger.js';
import { privateKeyObjectOf, signingKeyFromSeed } from '../../src/crypto/signing-key.js';
import { payloadRule } from '../../src/policy/rules.js';
import type { EventInput } from '../../src/format/event.js';
import type { EventSigner } from '../../src/format/signature.js';
import { SealedLedgerError } from '../../src/errors.js';
import { propertySeed } from '../witness/seed.js';
import { tempDir } from '../helpers.js';

const workerUrl = new URL('../../dist/ledger/sign-worker.js', import.meta.url);
const key = signingKeyFromSeed(Buffer.alloc(32, 5), 'threads');
const now = () => new Date('2026-01-01T00:00:00.000Z');
/** Payload v = 3 on kind "flag" is quarantined, v = 4 rejected. */
const policy = [
  payloadRule('flag-3', 'flag', (p) => ((p as { v: number }).v === 3 ? 'v is 3' : null), 'quarantine'),
  payloadRule('flag-4', 'flag', (p) => ((p as { v: number }).v === 4 ? 'v is 4' : null), 'reject'),
];
const seed = propertySeed('ledger/signing-threads');

beforeAll(() => {
  if (!fs.existsSync(workerUrl)) throw new Error(`${workerUrl.pathname} is missing: run npm run build first`);
});

const idOf = (n: number) => `0190a0b0-0000-7000-8000-${String(n).padStart(12, '0')}`;

/** One request: a batch (appendBatch) or a single append, optionally with expectedSeq. */
interface Op {
  batch: boolean;
  inputs: EventInput[];
  expectedSeq?: number;
}

interface Run {
  outcomes: unknown[];
  jsonl: string;
  quarantine: string;
  /** Chunks the signing threads signed: 0 exactly when threads = 0 (or a caller's signer). */
  threaded: boolean;
}

/** Apply `waves` of requests (the requests of a wave are started together, so they share flushes). */
async function run(threads: number, waves: Op[][], signer: EventSigner = key): Promise<Run> {
  const { dir, cleanup } = tempDir();
  try {
    const ledger = await Ledger.open({ dir, create: true, signer, signingThreads: threads, signWorkerUrl: workerUrl, now, policy });
    const outcomes: unknown[] = [];
    for (const wave of waves) {
      const settled = await Promise.allSettled(
        wave.map((op) =>
          op.batch
            ? ledger.appendBatch(op.inputs, { expectedSeq: op.expectedSeq })
            : ledger.append(op.inputs[0]!, { expectedSeq: op.expectedSeq }).then((e) => [e]),
        ),
      );
      for (const s of settled) {
        if (s.status === 'fulfilled') outcomes.push({ events: s.value });
        else if (s.reason instanceof SealedLedgerError) outcomes.push({ code: s.reason.code, message: s.reason.message });
        else throw s.reason;
      }
    }
    const threaded = writerOf(ledger).signPool.posted > 0;
    await ledger.close();
    const report = await verifyLedger({ dir });
    expect(report.ok, JSON.stringify(report.problems?.slice(0, 3))).toBe(true);
    const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8') : '');
    return { outcomes, jsonl: read('events.jsonl'), quarantine: read('quarantine.jsonl'), threaded };
  } finally {
    cleanup();
  }
}

const batchOf = (n: number, from: number, extra: Partial<EventInput> = {}): EventInput[] =>
  Array.from({ length: n }, (_, i) => ({ id: idOf(from + i), at: '2026-01-01T00:00:00.000Z', kind: 'ok', payload: { v: from + i }, ...extra }));

describe('signing threads (spec §13.8)', () => {
  it('a batch signed on a thread is byte for byte the batch signed inline, and verifies', async () => {
    const waves = [[{ batch: true, inputs: batchOf(1000, 0) }], [{ batch: true, inputs: batchOf(300, 1000) }]];
    const [inline, threaded] = [await run(0, waves), await run(1, waves)];
    expect([inline.threaded, threaded.threaded]).toEqual([false, true]);
    expect({ ...threaded, threaded: false }).toEqual(inline);
    expect(threaded.jsonl.split('\n').filter(Boolean)).toHaveLength(1300);
    expect(threaded.jsonl).toContain(`"kid":"${key.kid}"`);
  });

  it('duplicates, conflicts, policy outcomes and expectedSeq inside threaded batches match the inline outcome', async () => {
    const dupInside = [...batchOf(100, 0), ...batchOf(10, 50)]; // ids 50..59 again, same content
    const conflict = [...batchOf(100, 200), { ...batchOf(1, 250)[0]!, payload: { v: -1 } }];
    const quarantined = [...batchOf(70, 400), { ...batchOf(1, 470)[0]!, kind: 'flag', payload: { v: 3 } }, ...batchOf(30, 471)];
    const rejected = [...batchOf(80, 600), { ...batchOf(1, 680)[0]!, kind: 'flag', payload: { v: 4 } }];
    const retry = batchOf(100, 0); // all stored: an idempotent retry of the first batch
    const waves: Op[][] = [
      [{ batch: true, inputs: dupInside }],
      [{ batch: true, inputs: conflict }, { batch: true, inputs: quarantined }, { batch: true, inputs: rejected }],
      [{ batch: true, inputs: retry }, { batch: true, inputs: batchOf(90, 800), expectedSeq: 5 }, { batch: true, inputs: batchOf(90, 900), expectedSeq: 99 }],
    ];
    const [inline, threaded] = [await run(0, waves), await run(1, waves)];
    expect([inline.threaded, threaded.threaded]).toEqual([false, true]);
    expect({ ...threaded, threaded: false }).toEqual(inline);
    const codes = threaded.outcomes.map((o) => (o as { code?: string }).code ?? 'ok');
    expect(codes).toEqual(['ok', 'IDEMPOTENCY_CONFLICT', 'POLICY_QUARANTINED', 'POLICY_REJECTED', 'ok', 'SEQ_CONFLICT', 'ok']);
    expect(threaded.quarantine.trim().split('\n')).toHaveLength(1);
  });

  it('property: any mix of requests gives the same files and outcomes with and without threads', async () => {
    const input = fc.record({
      n: fc.integer({ min: 0, max: 40 }),
      kind: fc.constantFrom('ok', 'ok', 'ok', 'flag'),
      v: fc.integer({ min: 0, max: 5 }),
    });
    const op = fc.record({
      batch: fc.boolean(),
      inputs: fc.array(input, { minLength: 1, maxLength: 160 }),
      expectedSeq: fc.option(fc.integer({ min: -1, max: 200 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }), async (raw) => {
        // Ids from a small pool, content fixed by (n, kind, v): retries and conflicts both occur.
        const waves: Op[][] = raw.map((w) =>
          w.map((o) => ({
            batch: o.batch,
            expectedSeq: o.expectedSeq,
            inputs: (o.batch ? o.inputs : o.inputs.slice(0, 1)).map((i) => ({ id: idOf(i.n), at: '2026-01-01T00:00:00.000Z', kind: i.kind, payload: { v: i.v } })),
          })),
        );
        const [inline, threaded] = [await run(0, waves), await run(1, waves)];
        expect({ ...threaded, threaded: inline.threaded }).toEqual(inline);
        // Only requests of 64 events or more go to the threads.
        if (threaded.threaded) expect(waves.flat().some((o) => o.batch && o.inputs.length >= 64)).toBe(true);
      }),
      { seed, numRuns: 12 },
    );
  });

  it('events with generated ids and times are signed on threads and verify', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const ledger = await Ledger.open({ dir, create: true, signer: key, signingThreads: 2, signWorkerUrl: workerUrl });
      const events = await ledger.appendBatch(Array.from({ length: 500 }, (_, i) => ({ kind: 'k', payload: { i } })));
      expect(events.every((e) => e.sig?.kid === key.kid)).toBe(true);
      await ledger.close();
      expect((await verifyLedger({ dir })).ok).toBe(true);
    } finally {
      cleanup();
    }
  });

  it("a caller's own EventSigner signs inline: same bytes as with no threads", async () => {
    const calls: number[] = [];
    const adapter: EventSigner & { publicKey: Uint8Array; name: string } = {
      kid: key.kid,
      name: key.name,
      publicKey: key.publicKey,
      sign: (m) => {
        calls.push(m.length);
        return key.sign(m);
      },
    };
    const waves = [[{ batch: true, inputs: batchOf(200, 0) }]];
    const threaded = await run(1, waves, adapter);
    expect(calls).toHaveLength(200);
    expect(threaded.threaded).toBe(false);
    expect(threaded).toEqual(await run(0, waves));
  });

  it('a signing thread that dies holding a chunk fails its request with the error, writes nothing, and the next request still appends', async () => {
    const { dir, cleanup } = tempDir();
    // A thread that answers its first job without signing (so the pool is running and idle), then
    // on each later job claims the first chunk published (sign-chunks.ts: ctl word 0 counts the
    // chunks published, with 1 << 30 once sealed; word 1 the chunks claimed) and exits holding it.
    const dyingFile = path.join(dir, '..', `dying-signer-${process.pid}.mjs`);
    fs.writeFileSync(
      dyingFile,
      `import { parentPort } from 'node:worker_threads';
      let jobs = 0;
      parentPort.on('message', (m) => {
        if (m.type !== 'job') return;
        if (jobs++ === 0) return parentPort.postMessage({ id: m.id, chunks: 0 });
        const ctl = new Int32Array(m.shared.ctl);
        for (;;) {
          const sealed = Atomics.load(ctl, 0);
          const next = Atomics.load(ctl, 1);
          if (next < (sealed & ~(1 << 30)) && Atomics.compareExchange(ctl, 1, next, next + 1) === next) process.exit(7);
          if ((sealed & (1 << 30)) !== 0) return parentPort.postMessage({ id: m.id, chunks: 0 });
          Atomics.wait(ctl, 0, sealed, 50);
        }
      });`,
    );
    const dying = new URL(`file://${dyingFile}`);
    try {
      let ledger = await Ledger.open({ dir, create: true, signer: key, signingThreads: 1, signWorkerUrl: dying });
      await ledger.appendBatch(batchOf(10, 0)); // under the threshold: inline
      await ledger.appendBatch(batchOf(100, 10)); // starts the thread, which signs nothing of it
      const before = fs.readFileSync(path.join(dir, 'events.jsonl'));
      // Sealing 5,000 events takes tens of ms: the idle thread claims a chunk long before they are sealed.
      await expect(ledger.appendBatch(batchOf(5000, 110))).rejects.toMatchObject({
        code: 'UNAVAILABLE',
        message: expect.stringMatching(/signing thread exited with code 7; nothing was written/),
      });
      expect(fs.readFileSync(path.join(dir, 'events.jsonl'))).toEqual(before);
      expect(ledger.headInfo().seq).toBe(109);
      await ledger.append({ kind: 'k', payload: 1 }); // small: inline, unaffected
      expect(ledger.headInfo().seq).toBe(110);
      await ledger.close();
      ledger = await Ledger.open({ dir, signer: key, signingThreads: 1, signWorkerUrl: workerUrl });
      await ledger.appendBatch(batchOf(200, 111));
      expect(ledger.headInfo().seq).toBe(310);
      await ledger.close();
      expect((await verifyLedger({ dir })).ok).toBe(true);
    } finally {
      fs.rmSync(dyingFile, { force: true });
      cleanup();
    }
  });

  it('the appending thread signs the chunks no thread claimed: a thread that never answers does not hold a request up', async () => {
    const { dir, cleanup } = tempDir();
    const idle = new URL(`data:text/javascript,${encodeURIComponent("import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => {});")}`);
    try {
      const ledger = await Ledger.open({ dir, create: true, signer: key, signingThreads: 1, signWorkerUrl: idle });
      const events = await ledger.appendBatch(batchOf(300, 0));
      expect(events.every((e) => e.sig?.kid === key.kid)).toBe(true);
      const pool = writerOf(ledger).signPool;
      expect([pool.posted, pool.threadChunks]).toEqual([1, 0]);
      await ledger.close();
      expect((await verifyLedger({ dir })).ok).toBe(true);
    } finally {
      cleanup();
    }
  });

  it('close() ends the signing threads and no request starts them again', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const ledger = await Ledger.open({ dir, create: true, signer: key, signingThreads: 2, signWorkerUrl: workerUrl });
      const pool = writerOf(ledger).signPool;
      expect(pool.running).toBe(0); // started on first use
      await ledger.appendBatch(batchOf(300, 0));
      expect([pool.running, pool.posted > 0]).toEqual([2, true]);
      // Started and idle, the threads take part of a large request as it is sealed.
      await ledger.appendBatch(batchOf(3000, 300));
      await vi.waitFor(() => expect(pool.threadChunks).toBeGreaterThan(0));
      await ledger.close();
      expect(pool.running).toBe(0);
      expect(pool.job(privateKeyObjectOf(key), 1000)).toBeUndefined();
      expect(pool.running).toBe(0);
    } finally {
      cleanup();
    }
  });

  it('a process whose only pending work is threaded signed batches and close() runs them to the end', () => {
    // Was: a thread unreferenced itself when it answered its last job while close() waited for it
    // to terminate, and the process exited (13, an unsettled await) inside close(). The wait for
    // the chunks a thread is still signing (Atomics.waitAsync) holds no handle either: threads stay
    // referenced while a job is open.
    const { dir, cleanup } = tempDir();
    try {
      const child = new URL('./children/signed-batch.mjs', import.meta.url).pathname;
      const r = spawnSync(process.execPath, [child, dir, '1000', '5'], { encoding: 'utf8', timeout: 120_000 });
      expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: '999\n1999\n2999\n3999\n4999\nclosed\n', stderr: '' });
    } finally {
      cleanup();
    }
  });

  it('signingThreads must be an integer >= 0', async () => {
    const { dir, cleanup } = tempDir();
    try {
      for (const bad of [-1, 1.5, Number.NaN]) {
        await expect(Ledger.open({ dir, create: true, signingThreads: bad })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
    } finally {
      cleanup();
    }
  });
});
