/**
 * Worker thread of the collector's line checks (spec §18.3): runs checkBatchLines over a slice
 * of a batch and answers with the checked lines packed (packLines), as offsets into that slice. The keyring comes
 * with each request, since sources and their keys change while the collector runs.
 */
import { parentPort } from 'node:worker_threads';
import { Keyring } from '../crypto/keyring.js';
import { checkBatchLines } from './batch-lines.js';
import type { CheckReply, CheckRequest } from './check-pool.js';
import { packLines } from './check-wire.js';

const port = parentPort;
if (port === null) throw new Error('check-worker.js runs only as a worker thread');

// The same source's keyring arrives with every slice: parse it once while it stays the same.
let lastJson: string | undefined;
let lastKeyring: Keyring | undefined;

port.on('message', (req: CheckRequest) => {
  let reply: CheckReply;
  try {
    const body = Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
    const r = checkBatchLines(body, { keyring: keyringOf(req.keyringJson), requireSignatures: req.requireSignatures, limits: req.limits, lineOffset: req.lineOffset });
    reply = { id: req.id, lines: packLines(r.lines, body), ...(r.failure ? { failure: r.failure } : {}) };
  } catch (e) {
    reply = { id: req.id, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) };
  }
  port.postMessage(reply, 'lines' in reply ? [reply.lines.nums.buffer as ArrayBuffer] : []);
});

function keyringOf(json: string): Keyring {
  if (json !== lastJson || lastKeyring === undefined) {
    lastKeyring = Keyring.fromJSON(json);
    lastJson = json;
  }
  return lastKeyring;
}
