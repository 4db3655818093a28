// A collector in its own process for the shipping and stream rows, so that the shipper or the
// clients measured do not share its event loop: `fork(collector-child.mjs, [db])`, then it sends
// { url } and answers { add: NewSource } with { token }. Closes when the parent disconnects.
import { createCollector } from '../../dist/collector/index.js';

const collector = await createCollector({ db: process.argv[2], rateLimit: false });
const url = await collector.listen();
process.on('message', async (m) => {
  if (m.add) process.send({ token: (await collector.sources.add(m.add)).token });
});
process.on('disconnect', async () => {
  await collector.close();
  process.exit(0);
});
process.send({ url });
