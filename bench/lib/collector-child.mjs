// A collector in its own process (the shipping and stream rows, and collector-ab.mjs), so that the
// shipper or the clients measured do not share its event loop and its CPU time is its own:
// `fork(collector-child.mjs, [db, distDir?, plan?])`, then it sends { url } and answers
// { add: NewSource } with { token }. Closes when the parent disconnects. `distDir` picks the build
// (default: this checkout's dist/); `plan` is "default", "one", "fixed:N" or
// "shares:0.1,0.4,0.4,0.1" (a build without the ingestChunks option ignores it).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [db, distDir = fileURLToPath(new URL('../../dist', import.meta.url)), plan = 'default'] = process.argv.slice(2);
const { createCollector } = await import(pathToFileURL(path.resolve(distDir, 'collector/index.js')).href);
let ingestChunks;
if (plan !== 'default') {
  const plans = await import(pathToFileURL(path.resolve(distDir, 'collector/chunk-plan.js')).href);
  ingestChunks = plan === 'one' ? plans.ONE_CHUNK : plan.startsWith('fixed:') ? plans.fixedChunks(Number(plan.slice(6))) : plans.sharedChunks(plan.slice(7).split(',').map(Number));
}
const collector = await createCollector({ db, rateLimit: false, ...(ingestChunks ? { ingestChunks } : {}) });
const url = await collector.listen();
process.on('message', async (m) => {
  if (m.add) process.send({ token: (await collector.sources.add(m.add)).token });
  // After a full collection (the parent forks with --expose-gc): what the process keeps.
  if (m.memory) {
    globalThis.gc?.();
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    process.send({ memory: { rss, heapUsed, heapTotal, external, gcExposed: typeof globalThis.gc === 'function' } });
  }
});
process.on('disconnect', async () => {
  await collector.close();
  process.exit(0);
});
process.send({ url });
