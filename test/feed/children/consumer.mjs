// A durable consumer in its own process: prints "got <seq>" when an event arrives, takes
// <delayMs> to handle it, and acknowledges it when it pulls the next one (ack after handler).
import { consumer } from '../../../dist/index.js';

const [dir, name, delayMs, stopAfter] = process.argv.slice(2);
const ac = new AbortController();
process.on('SIGTERM', () => ac.abort());
const c = consumer(dir, name, { pollIntervalMs: 20 });
process.stdout.write(`start ${c.offset().seq}\n`);
for await (const e of c.events({ signal: ac.signal })) {
  process.stdout.write(`got ${e.seq}\n`);
  await new Promise((r) => setTimeout(r, Number(delayMs)));
  if (stopAfter !== undefined && e.seq >= Number(stopAfter)) break;
}
