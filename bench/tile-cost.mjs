// What storing the Merkle tree as tiles (C2SP tlog-tiles: one row per full 256-hash tile per
// tile level) would save an unsigned appendBatch(1000), against today's row per interior node
// (spec §11.2) and against no tree rows at all (the floor). CPU per event of the process,
// variants alternated in one process, a fresh ledger per repetition, medians (ADR 0033).
// --replay: the same variants for replayJsonlIntoSqlite of a --batches x 1,000 event ledger into
// an empty ledger.db instead.
//   npm run build && node bench/tile-cost.mjs [--reps N] [--batches N] [--replay]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ledger, replayJsonlIntoSqlite } from '../dist/index.js';
import { TreeStore } from '../dist/store/tree-store.js';
import { batchOf } from './lib/events.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const reps = opt('--reps', 5);
const batches = opt('--batches', 30);
const replay = args.includes('--replay');

const realPut = TreeStore.prototype.put;
/**
 * The tiled write path, simulated inside today's TreeStore: every event's leaf hash and every
 * node of level 8k is copied into the in-memory partial tile of its tile level; a full tile
 * (256 hashes) is one 8 KiB row. Levels between tile levels are not stored (recomputed on read).
 */
function tiledPut(nodes) {
  const s = (this.proto ??= {
    insert: (this.db.exec('CREATE TABLE IF NOT EXISTS tiles_proto (level INTEGER NOT NULL, idx INTEGER NOT NULL, hashes BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID'),
      this.db.prepare('INSERT OR REPLACE INTO tiles_proto (level, idx, hashes) VALUES (?, ?, ?)')),
    edge: [],
    count: [],
    leaf: Buffer.alloc(32, 7),
  });
  const add = (tl, hash) => {
    const buf = (s.edge[tl] ??= Buffer.allocUnsafe(8192));
    const n = s.count[tl] ?? 0;
    hash.copy(buf, (n % 256) * 32);
    s.count[tl] = n + 1;
    if ((n + 1) % 256 === 0) s.insert.run(tl, Math.floor(n / 256), buf);
  };
  add(0, s.leaf);
  for (const n of nodes) if (n.level % 8 === 0) add(n.level / 8, n.hash);
}
const VARIANTS = {
  'node rows (today)': realPut,
  'tiles (prototype)': tiledPut,
  'no tree rows (floor)': function noPut() {},
};

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-tile-cost-'));
const inputs = Array.from({ length: batches }, (_, b) => batchOf(1000, b * 1000));
const cpu = Object.fromEntries(Object.keys(VARIANTS).map((k) => [k, []]));
const load0 = os.loadavg()[0];
let dirN = 0;
const source = path.join(root, 'source');
if (replay) {
  const ledger = await Ledger.open({ dir: source, create: true });
  for (const b of inputs) await ledger.appendBatch(b);
  await ledger.close();
}
/** CPU µs per event of one measured run with the current variant. */
async function once() {
  if (replay) {
    const sqlitePath = path.join(root, `r${dirN++}.db`);
    const c0 = process.cpuUsage();
    const report = await replayJsonlIntoSqlite({ jsonlPath: path.join(source, 'events.jsonl'), sqlitePath });
    const c = process.cpuUsage(c0);
    if (report.inserted !== batches * 1000) throw new Error(JSON.stringify(report));
    for (const f of [sqlitePath, `${sqlitePath}-wal`, `${sqlitePath}-shm`]) fs.rmSync(f, { force: true });
    return (c.user + c.system) / report.inserted;
  }
  const ledger = await Ledger.open({ dir: path.join(root, `l${dirN++}`), create: true });
  await ledger.appendBatch(batchOf(1000, 10_000_000)); // warm-up
  const c0 = process.cpuUsage();
  for (const b of inputs) await ledger.appendBatch(b);
  const c = process.cpuUsage(c0);
  await ledger.close();
  return (c.user + c.system) / (batches * 1000);
}
try {
  for (let r = 0; r < reps; r++) {
    const order = Object.keys(VARIANTS);
    if (r % 2) order.reverse();
    for (const name of order) {
      TreeStore.prototype.put = VARIANTS[name];
      cpu[name].push(await once());
    }
  }
} finally {
  TreeStore.prototype.put = realPut;
  fs.rmSync(root, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(cpu['node rows (today)']);
console.log(`${replay ? `replay of ${batches * 1000} events into an empty ledger.db` : `appendBatch(1000) x ${batches}, unsigned`}, ${reps} alternated repetitions (load ${load0.toFixed(2)} -> ${os.loadavg()[0].toFixed(2)})`);
for (const [name, xs] of Object.entries(cpu)) {
  // Paired within a repetition, so slow drifts of the machine's load cancel.
  const paired = median(xs.map((x, i) => x / cpu['node rows (today)'][i]));
  console.log(`${name.padEnd(22)} CPU ${median(xs).toFixed(2)} µs/event (median; ${xs.map((x) => x.toFixed(1)).join(' ')}), ` +
    `${(median(xs) / base).toFixed(3)}x of today (paired median ${paired.toFixed(3)}x)`);
}
