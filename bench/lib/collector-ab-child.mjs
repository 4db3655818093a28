// One collector of collector-ab.mjs in its own process, so that its CPU time is its own:
// `fork(collector-ab-child.mjs, [distDir, db, plan])`; it sends { url } and answers
// { add: NewSource } with { token }. `plan` is "default", "one", "fixed:N" or "shares:0.1,0.4,0.4,0.1"
// (a build without the ingestChunks option ignores it). Closes when the parent disconnects.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [distDir, db, plan] = process.argv.slice(2);
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
});
process.on('disconnect', async () => {
  await collector.close();
  process.exit(0);
});
process.send({ url });
