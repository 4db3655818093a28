// A script whose only pending work is large signed appendBatch calls on the signing threads,
// then close(): the process must stay alive until each resolves (spec §13.8). Prints each
// batch's last seq and "closed"; exits 13 ("unsettled top-level await") if the event loop ran dry.
// node signed-batch.mjs <dir> <events per batch> <batches>
import { Ledger, signingKeyFromSeed } from '../../../dist/index.js';

const [dir, events, rounds] = process.argv.slice(2);
const signer = signingKeyFromSeed(Buffer.alloc(32, 3), 'child');
const ledger = await Ledger.open({ dir, create: true, signer, signingThreads: 1 });
for (let round = 0; round < Number(rounds); round++) {
  const n = Number(events);
  const batch = await ledger.appendBatch(Array.from({ length: n }, (_, i) => ({ kind: 'k', payload: { round, i } })));
  process.stdout.write(`${batch.at(-1).seq}\n`);
}
await ledger.close();
process.stdout.write('closed\n');
