// Child writer for the lock tests of spec §13.9: like writer.mjs, with the projection inline or
// on the worker ("inline" | "worker"); prints "ack <seq> <id>" per acknowledged event.
import { Ledger } from '../../../dist/index.js';

const [dir, name, countArg, batchArg, mode] = process.argv.slice(2);
const count = Number(countArg);
const batch = Number(batchArg ?? 1);
const ledger = await Ledger.open({ dir, lockTimeoutMs: 30_000, projectionWorker: mode === 'worker' ? { maxLagEvents: 64, maxLagMs: 20 } : false });
for (let i = 0; i < count; i += batch) {
  const inputs = [];
  for (let j = i; j < Math.min(count, i + batch); j++) inputs.push({ kind: 'proc.write', actor: name, id: `${name}-${j}`, payload: { j } });
  const events = await ledger.appendBatch(inputs);
  for (const e of events) process.stdout.write(`ack ${e.seq} ${e.id}\n`);
}
await ledger.close();
