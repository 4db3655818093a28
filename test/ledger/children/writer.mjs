// Child writer for multi-process tests: appends N events to a ledger folder, one at a time or in
// batches, and prints one line per acknowledged event: "ack <seq> <id>".
import { Ledger } from '../../../dist/index.js';

const [dir, name, countArg, batchArg] = process.argv.slice(2);
const count = Number(countArg);
const batch = Number(batchArg ?? 1);
const ledger = await Ledger.open({ dir, lockTimeoutMs: 30_000 });
for (let i = 0; i < count; i += batch) {
  const inputs = [];
  for (let j = i; j < Math.min(count, i + batch); j++) inputs.push({ kind: 'proc.write', actor: name, id: `${name}-${j}`, payload: { j } });
  const events = await ledger.appendBatch(inputs);
  for (const e of events) process.stdout.write(`ack ${e.seq} ${e.id}\n`);
}
await ledger.close();
