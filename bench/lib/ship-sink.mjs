/**
 * A loopback sink for the shipping benches: answers the collector protocol's success path
 * (GET head, POST batch -> next), checking that every batch starts where it should and storing
 * nothing. Run as a process (`node bench/lib/ship-sink.mjs`: prints its port) or import it.
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export async function startSink() {
  const state = { next: 0, disorder: 0, batches: 0 };
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      const reply = (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ accepted: 0, duplicates: 0, next: state.next, head: state.next ? { seq: state.next - 1, hash: '' } : null, ...body }));
      };
      if (req.method === 'GET') return reply(200, { source: 'bench' });
      const body = Buffer.concat(parts);
      const first = JSON.parse(body.subarray(0, body.indexOf(10)).toString()).seq;
      let lines = 0;
      for (let i = body.indexOf(10); i !== -1; i = body.indexOf(10, i + 1)) lines++;
      if (first > state.next) return reply(409, { code: 'SEQ_GAP' });
      if (first < state.next - 1) state.disorder++;
      const dup = Math.max(0, Math.min(lines, state.next - first));
      state.next = Math.max(state.next, first + lines);
      state.batches++;
      return reply(200, { accepted: lines - dup, duplicates: dup });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, state, close: () => new Promise((r) => server.close(r)) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sink = await startSink();
  process.stdout.write(`${sink.url}\n`);
  setInterval(() => undefined, 1 << 30);
}
