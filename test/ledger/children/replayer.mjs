// Child that replays a ledger folder (`replay`) or rebuilds its projection (`rebuild`) from the
// built package and, at its first progress report (inside the load's one open transaction),
// says so and blocks until it is SIGKILLed.
import fs from 'node:fs';
import { rebuildProjection, replayJsonlIntoSqlite } from '../../../dist/index.js';

const [dir, mode] = process.argv.slice(2);
const hold = new Int32Array(new SharedArrayBuffer(4));
const onProgress = () => {
  fs.writeSync(1, `loading ${process.pid}\n`);
  Atomics.wait(hold, 0, 0, 60_000);
};
const options = { workers: 0, onProgress };
await (mode === 'rebuild' ? rebuildProjection(dir, options) : replayJsonlIntoSqlite({ dir }, options));
process.stdout.write('finished\n');
