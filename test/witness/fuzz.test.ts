// Hostile input to the witness: random and mutated request bodies and notes. Nothing throws
// (every answer is a status), and nothing but an exact, valid request is cosigned.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddCheckpointRequest } from '../../src/witness/request.js';
import { setup } from './helpers.js';
import { propertySeed } from './seed.js';

const seed = propertySeed('witness/fuzz');

describe('witness fuzz', () => {
  it('parseAddCheckpointRequest never throws on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = parseAddCheckpointRequest(bytes);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 3000, seed },
    );
  });

  it('no mutation of a valid request is cosigned, and none throws', async () => {
    const { log, witness, store } = setup();
    expect((await witness.addCheckpoint(log.request(0, 5))).status).toBe(200);
    const good = log.request(5, 11);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom('set', 'insert', 'delete') }), {
          minLength: 1,
          maxLength: 3,
        }),
        async (edits) => {
          const bytes = [...good];
          for (const e of edits) {
            const i = e.at % (bytes.length + 1);
            if (e.op === 'set' && i < bytes.length) bytes[i] = e.byte;
            else if (e.op === 'insert') bytes.splice(i, 0, e.byte);
            else bytes.splice(i, 1);
          }
          const mutated = Buffer.from(bytes);
          if (mutated.equals(good)) return;
          store.state.set('host-a', { ...store.state.get('host-a')!, size: 5, rootHash: log.root(5) });
          // Rejects (fails the property) on any throw: every input gets a status.
          const out = await witness.addCheckpoint(mutated);
          // Strict grammar, strict base64 and strict Ed25519: no other bytes carry the same meaning.
          expect([400, 403, 404, 409, 422]).toContain(out.status);
        },
      ),
      { numRuns: 1500, seed },
    );
    expect(store.state.get('host-a')!.size).toBe(5);
  });
});
