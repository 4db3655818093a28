/**
 * Worker thread of verifyLedger (spec §14.6): checks batches of lines (canonical form, seal,
 * signature) and answers with one LineCheck per line, in line order. It holds no chain state;
 * the main thread does every check that depends on order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Keyring } from '../crypto/keyring.js';
import { linesOf } from '../store/line-batches.js';
import { checkLine, type LineCheck } from './verify-line.js';
import { faultReply } from '../io/worker-pool.js';
import type { BatchRequest, BatchReply } from './verify-pool.js';

const port = parentPort;
if (port === null) throw new Error('verify-worker.js runs only as a worker thread');
const keyring = Keyring.fromJSON((workerData as { keyringJson: string }).keyringJson);

port.on('message', (req: BatchRequest) => {
  let reply: BatchReply;
  try {
    const results: LineCheck[] = [];
    for (const line of linesOf(req.batch)) results.push(checkLine(line, keyring));
    reply = { id: req.id, results };
  } catch (e) {
    // Not a verdict on a line but a fault; the main thread rethrows it.
    reply = faultReply(req.id, e);
  }
  port.postMessage(reply);
});
