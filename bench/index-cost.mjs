// What each secondary index of ledger.db costs an append, and which documented query needs it.
//   npm run build && node bench/index-cost.mjs [--quick]
// Real appendBatch(1000) into a fresh ledger whose ledger.db had one index (or all three) dropped
// before the first append, next to the full schema, variants interleaved in every repetition;
// medians. Then the query plan of each `ledger.events(query)` filter on the full schema.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Ledger } from '../dist/index.js';
import { batchOf } from './lib/events.mjs';
import { ledgerSchema } from './lib/ledger-schema.mjs';
import { median, rate } from './lib/measure.mjs';

const quick = process.argv.includes('--quick');
const batches = quick ? 10 : 30;
const reps = quick ? 3 : 5;
// ledger.db's secondary indexes as the migrations create them (the raw loop below uses the same).
const schema = await ledgerSchema();
const INDEXES = schema.indexes.map((i) => i.name);
const VARIANTS = [[], ...INDEXES.map((i) => [i]), INDEXES];
const name = (dropped) => (dropped.length === 0 ? 'full schema' : dropped.length === INDEXES.length ? 'no secondary index' : `without ${dropped[0]}`);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-index-cost-'));
try {
  const samples = new Map(VARIANTS.map((v) => [name(v), []]));
  // CPU time per event (all threads) is less skewed by other load on the machine than the rate.
  const cpu = new Map(VARIANTS.map((v) => [name(v), []]));
  for (let rep = 0; rep < reps + 1; rep++) {
    for (const dropped of rep % 2 ? [...VARIANTS].reverse() : VARIANTS) {
      const dir = path.join(root, `l-${rep}-${dropped.length}-${dropped[0] ?? ''}`);
      await (await Ledger.open({ dir, create: true })).close();
      const db = new Database(path.join(dir, 'ledger.db'));
      for (const i of dropped) db.exec(`DROP INDEX ${i}`);
      db.close();
      const ledger = await Ledger.open({ dir });
      const inputs = Array.from({ length: batches }, (_, b) => batchOf(1000, b * 1000));
      const c0 = process.cpuUsage();
      const r = await rate(batches * 1000, async () => {
        for (const batch of inputs) await ledger.appendBatch(batch);
      });
      const c = process.cpuUsage(c0);
      await ledger.close();
      fs.rmSync(dir, { recursive: true, force: true });
      if (rep > 0) {
        // The first repetition warms up.
        samples.get(name(dropped)).push(r);
        cpu.get(name(dropped)).push((c.user + c.system) / (batches * 1000));
      }
    }
  }
  const full = median(samples.get('full schema'));
  const fullCpu = median(cpu.get('full schema'));
  console.log(`appendBatch(1000) x ${batches} into a fresh ledger, medians of ${reps} (load ${os.loadavg()[0].toFixed(2)}):`);
  for (const [label, xs] of samples) {
    const m = median(xs);
    const c = median(cpu.get(label));
    console.log(
      `  ${label.padEnd(26)} ${Math.round(m).toLocaleString('en-US').padStart(7)} events/s ${(m / full).toFixed(2)}x` +
        `  CPU ${c.toFixed(1)} µs/event (${(fullCpu - c).toFixed(1)} µs saved)  [${xs.map((x) => Math.round(x)).join(', ')}]`,
    );
  }

  // The same variants without the ledger around them: prepared INSERTs of ledger-shaped rows in
  // 1,000-row transactions (as appendBatch commits them), CPU time per row.
  const rawRows = quick ? 20_000 : 100_000;
  const rawCpu = new Map(VARIANTS.map((v) => [name(v), []]));
  const line = 'x'.repeat(390);
  for (let rep = 0; rep < reps + 1; rep++) {
    for (const dropped of VARIANTS) {
      const file = path.join(root, 'raw.db');
      const db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(schema.events);
      for (const { name: i, sql } of schema.indexes) if (!dropped.includes(i)) db.exec(sql);
      const insert = db.prepare('INSERT INTO events (seq, id, at, kind, actor, hash, kid, line, offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
      const kinds = ['payment.captured', 'payment.refunded', 'login.succeeded', 'login.failed'];
      const t0 = Date.UTC(2026, 0, 1);
      const c0 = process.cpuUsage();
      for (let i = 0; i < rawRows; i++) {
        if (i % 1000 === 0) db.exec('BEGIN');
        insert.run(i, `0199${i.toString(16).padStart(28, '0')}`, new Date(t0 + i).toISOString(), kinds[i & 3], `user:${100000 + (i % 5000)}`, 'ab'.repeat(32), null, line, i * 391);
        if (i % 1000 === 999) db.exec('COMMIT');
      }
      const c = process.cpuUsage(c0);
      db.close();
      for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
      if (rep > 0) rawCpu.get(name(dropped)).push((c.user + c.system) / rawRows);
    }
  }
  const rawFull = median(rawCpu.get('full schema'));
  console.log(`\nraw INSERT, ${rawRows.toLocaleString('en-US')} rows in 1,000-row transactions, CPU per row, medians of ${reps} (load ${os.loadavg()[0].toFixed(2)}):`);
  for (const [label, xs] of rawCpu) {
    const m = median(xs);
    console.log(`  ${label.padEnd(26)} ${m.toFixed(2)} µs/row (${(rawFull - m).toFixed(2)} µs saved)  [${xs.map((x) => x.toFixed(2)).join(', ')}]`);
  }

  // Which index each documented filter of ledger.events(query) uses (spec §8.1, EventQuery).
  const dir = path.join(root, 'plans');
  const ledger = await Ledger.open({ dir, create: true });
  for (let i = 0; i < 20_000; i += 1000) await ledger.appendBatch(batchOf(1000, i));
  await ledger.close();
  const db = new Database(path.join(dir, 'ledger.db'));
  db.exec('ANALYZE');
  const filters = {
    'fromSeq/toSeq': 'seq >= 10 AND seq <= 20',
    kind: "kind = 'login.failed'",
    actor: "actor = 'user:100007'",
    'fromAt/toAt': "at >= '2026-01-01' AND at < '2026-01-02'",
    'kind + fromAt': "kind = 'login.failed' AND at >= '2026-01-01'",
    'id (eventById, idempotency)': "id = 'x'",
  };
  console.log('\nquery plans on the full schema (SELECT line FROM events WHERE … ORDER BY seq):');
  for (const [label, where] of Object.entries(filters)) {
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT line FROM events WHERE ${where} ORDER BY seq`).all().map((r) => r.detail);
    console.log(`  ${label.padEnd(28)} ${plan.join('; ')}`);
  }
  db.close();
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
