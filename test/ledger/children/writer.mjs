// Child writer for multi-process tests: appends N events to a ledger folder, one at a time or in
// batches, and prints one line per acknowledged event: "ack <seq> <id>". The optional fifth
// argument puts the projection on the worker ("worker"; spec §13.9) or keeps it inline
// ("inline", the default), for the lock tests that mix both kinds of writer.
import { Ledger } from '../../../dist/index.js';

const [dir, name, countArg, batchArg, mode = 'inline'] = process.argv.slice(2);
if (mode !== 'inline' && mode !== 'worker') throw new Error(`mode must be "inline" or "worker", not ${JSON.stringify(mode)}`);
const count = Number(countArg);
const batch = Number(batchArg ?? 1);
const projectionWorker = mode === 'worker' ? { maxLagEvents: 64, maxLagMs: 20 } : false;
const ledger = await Ledger.open({ dir, lockTimeoutMs: 30_000, projectionWorker });
for (let i = 0; i < count; i += batch) {
  const inputs = [];
  for (let j = i; j < Math.min(count, i + batch); j++) inputs.push({ kind: 'proc.write', actor: name, id: `${name}-${j}`, payload: { j } });
  const events = await ledger.appendBatch(inputs);
  for (const e of events) process.stdout.write(`ack ${e.seq} ${e.id}\n`);
}
await ledger.close();
