/**
 * Worker thread of verifyLedger (spec §14.6): the JSONL <-> SQLite parity pass, run while the
 * verify workers check lines instead of after them. It only reads; its report is plain data.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { verifyEventSetParity } from './parity.js';
import type { StorePaths } from '../store/layout.js';

const port = parentPort;
if (port === null) throw new Error('parity-worker.js runs only as a worker thread');

verifyEventSetParity((workerData as { paths: StorePaths }).paths).then(
  (report) => port.postMessage({ report }),
  // The main thread runs the pass itself to raise the typed error with its code and cause.
  (e: unknown) => port.postMessage({ failed: e instanceof Error ? e.message : String(e) }),
);
