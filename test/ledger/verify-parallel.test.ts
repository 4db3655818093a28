// spec §14.6: verifyLedger with worker threads reports exactly what the inline path reports,
// on a ledger with every kind of line problem injected. The workers run the compiled
// dist/audit/verify-worker.js (`npm test` builds first; after editing src, run `npm run build`).
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { verifyLedger, type VerifyOptions } from '../../src/audit/verify-ledger.js';
import { signingKeyFromSeed, type SigningKey } from '../../src/crypto/signing-key.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { sealRecord, withSignature } from '../../src/format/seal.js';
import { signatureFor } from '../../src/format/signature.js';
import type { SealedEvent } from '../../src/format/event.js';
import { ledgerDir, type Fixture } from './ledger-helpers.js';

const workerUrl = new URL('../../dist/audit/verify-worker.js', import.meta.url);
const key1 = signingKeyFromSeed(Buffer.alloc(32, 1), 'bench-key-one');
const key2 = signingKeyFromSeed(Buffer.alloc(32, 2), 'bench-key-two');
/** The verifier knows key1 only: key2's events report UNKNOWN_KEY. */
const ring1 = new Keyring([{ kid: key1.kid, name: key1.name, publicKey: key1.publicKey }]);

let f: Fixture;
let cleanJsonl: Buffer;

beforeAll(async () => {
  if (!fs.existsSync(workerUrl)) throw new Error(`${workerUrl.pathname} is missing: run npm run build first`);
  f = ledgerDir();
  let ledger = await Ledger.open({ dir: f.dir, create: true, signer: key1 });
  await ledger.appendBatch(Array.from({ length: 20 }, (_, i) => ({ kind: 'k', actor: 'a', payload: { i } })));
  await ledger.checkpoint(key1);
  await ledger.appendBatch(Array.from({ length: 10 }, (_, i) => ({ kind: 'k', payload: { i: 20 + i } })));
  await ledger.close();
  const ring = Keyring.load(path.join(f.dir, 'keyring.json'));
  ring.add({ kid: key2.kid, name: key2.name, publicKey: key2.publicKey });
  ring.save(path.join(f.dir, 'keyring.json'));
  ledger = await Ledger.open({ dir: f.dir, signer: key2 });
  await ledger.appendBatch(Array.from({ length: 15 }, (_, i) => ({ kind: 'k', payload: { i: 30 + i } })));
  await ledger.close();
  ledger = await Ledger.open({ dir: f.dir });
  await ledger.appendBatch(Array.from({ length: 15 }, (_, i) => ({ kind: 'u', payload: { i: 45 + i } })));
  await ledger.close();
  cleanJsonl = fs.readFileSync(path.join(f.dir, 'events.jsonl'));
});
afterAll(() => f?.cleanup());

function lines(): Buffer[] {
  const all: Buffer[] = [];
  for (let start = 0, nl = cleanJsonl.indexOf(0x0a); nl !== -1; start = nl + 1, nl = cleanJsonl.indexOf(0x0a, start)) {
    all.push(cleanJsonl.subarray(start, nl + 1));
  }
  return all;
}

/** Re-seal line `i` after a wrong prev and sign it again: the seal holds, the chain does not. */
function resealedWithWrongPrev(line: Buffer, signer: SigningKey): Buffer {
  const ev = JSON.parse(line.toString('utf8')) as SealedEvent;
  const input = { id: ev.id, at: ev.at, kind: ev.kind, ...(ev.actor === undefined ? {} : { actor: ev.actor }), payload: ev.payload };
  const rec = sealRecord(input, { seq: ev.seq, prev: 'ab'.repeat(32) });
  return Buffer.from(withSignature(rec, signatureFor(rec.hash, signer)).line + '\n');
}

function tampered(): Buffer {
  const l = lines();
  l[5] = Buffer.from(l[5]!.toString().replace('{"i":5}', '{"i":7}')); // SEAL_MISMATCH
  const sig = l[10]!.toString();
  const at = sig.indexOf('"value":"') + 20;
  l[10] = Buffer.from(sig.slice(0, at) + (sig[at] === 'A' ? 'B' : 'A') + sig.slice(at + 1)); // INVALID_SIGNATURE
  l[15] = resealedWithWrongPrev(l[15]!, key1); // CHAIN_BROKEN at 15 and 16
  l[21] = Buffer.from('{oops\n'); // MALFORMED_LINE, then SEQ_GAP at 22
  l[25] = Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]); // MALFORMED_LINE (not UTF-8)
  l[33] = Buffer.alloc(0); // deleted: SEQ_GAP at 34
  l.splice(40, 0, l[40]!); // duplicated: SEQ_GAP
  l.push(Buffer.from('{"v":1,"seq":60,"id"')); // torn tail
  return Buffer.concat(l);
}

async function verifyBytes(bytes: Buffer, options: VerifyOptions) {
  const file = path.join(f.dir, 'tampered.jsonl');
  fs.writeFileSync(file, bytes);
  return verifyLedger({ jsonlPath: file, sqlitePath: path.join(f.dir, 'ledger.db') }, { keyring: ring1, ...options });
}

describe('parallel verifyLedger (spec §14.6)', () => {
  it('gives the same report as the inline path on a ledger with injected problems', async () => {
    const bytes = tampered();
    for (const extra of [{}, { requireSignatures: true, maxProblems: 7 }] as VerifyOptions[]) {
      const inline = await verifyBytes(bytes, { ...extra, workers: 0 });
      const codes = new Set(inline.problems.map((p) => p.code));
      if (!extra.maxProblems) {
        for (const c of ['SEAL_MISMATCH', 'INVALID_SIGNATURE', 'CHAIN_BROKEN', 'MALFORMED_LINE', 'SEQ_GAP', 'UNKNOWN_KEY', 'CHECKPOINT_INCONSISTENT']) {
          expect(codes, c).toContain(c);
        }
      }
      expect(inline.tornTail).not.toBeNull();
      for (const workers of [1, 2, 3]) {
        for (const batchBytes of [100, 1000, undefined]) {
          const parallel = await verifyBytes(bytes, { ...extra, workers, workerUrl, ...(batchBytes ? { batchBytes } : {}) });
          expect(parallel, `workers ${workers}, batchBytes ${batchBytes}`).toEqual(inline);
        }
      }
    }
  });

  it('agrees with the inline path on the clean ledger and on random damage', async () => {
    const clean = await verifyBytes(cleanJsonl, { workers: 2, workerUrl });
    expect(clean).toEqual(await verifyBytes(cleanJsonl, { workers: 0 }));
    expect(clean.unsigned).toBe(15);
    const edit = fc.record({ at: fc.nat(), op: fc.constantFrom('flip', 'cut', 'drop', 'dup'), byte: fc.integer({ min: 0, max: 255 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 4 }), fc.integer({ min: 64, max: 4096 }), async (edits, batchBytes) => {
        let bytes = Buffer.from(cleanJsonl);
        for (const e of edits) {
          const i = e.at % bytes.length;
          if (e.op === 'flip') bytes[i] = e.byte;
          else if (e.op === 'cut') bytes = bytes.subarray(0, i);
          else if (e.op === 'drop') bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]);
          else bytes = Buffer.concat([bytes.subarray(0, i), bytes.subarray(i, i + 300), bytes.subarray(i)]);
          if (bytes.length === 0) bytes = Buffer.from('\n');
        }
        const inline = await verifyBytes(bytes, { workers: 0 });
        expect(await verifyBytes(bytes, { workers: 2, workerUrl, batchBytes })).toEqual(inline);
      }),
      { numRuns: 15 },
    );
  });

  it('a parity failure on its worker thread surfaces as the same typed error as inline', async () => {
    const jsonlPath = path.join(f.dir, 'clean.jsonl');
    fs.writeFileSync(jsonlPath, cleanJsonl);
    const sqlitePath = path.join(f.dir, 'not-a-database.db');
    fs.writeFileSync(sqlitePath, Buffer.alloc(8192, 0x5a));
    const run = (options: VerifyOptions) => verifyLedger({ jsonlPath, sqlitePath }, { keyring: ring1, ...options });
    const inline = await run({ workers: 0 }).catch((e: unknown) => e);
    expect(inline).toMatchObject({ code: 'LEDGER_CORRUPT' });
    const threaded = await run({ workers: 2, workerUrl }).catch((e: unknown) => e);
    expect(threaded).toMatchObject({ code: 'LEDGER_CORRUPT', message: (inline as Error).message });
  });

  it('rejects a bad workers option and surfaces a worker that cannot start', async () => {
    await expect(verifyBytes(cleanJsonl, { workers: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(verifyBytes(cleanJsonl, { workers: 1, workerUrl: new URL('./no-such-worker.js', workerUrl) })).rejects.toThrow();
  });
});
