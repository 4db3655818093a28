// npm run bench [-- --quick] [-- --json] [-- --only=single,verify] [-- --profile=DIR]
//   [-- --collector-memory-events=1000000] (the collector-memory row's length; default 300,000)
// Every row of the performance table, each next to its baseline measured in the same run.
// Medians of several repetitions after a discarded warm-up; see lib/config.mjs for sizes.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FULL, NEEDS_BIG, QUICK, RUN_ORDER, TABLE_ORDER } from './lib/config.mjs';
import { judge, machine, notes, table } from './lib/report.mjs';

const args = process.argv.slice(2);
const flag = (name) => args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const value = (name) => flag(name)?.split('=')[1];
const quick = !!flag('quick');
const json = !!flag('json');
const only = value('only')?.split(',');
const profileDir = value('profile');
const unknown = (only ?? []).filter((id) => !RUN_ORDER.includes(id));
if (unknown.length) throw new Error(`unknown rows: ${unknown.join(', ')} (rows: ${RUN_ORDER.join(', ')})`);

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-bench-'));
const base = quick ? QUICK : FULL;
const memoryEvents = value('collector-memory-events');
if (memoryEvents !== undefined && !(Number.isSafeInteger(Number(memoryEvents)) && Number(memoryEvents) >= 10_000)) {
  throw new Error('--collector-memory-events must be an integer >= 10000');
}
const size = memoryEvents === undefined ? base.size : { ...base.size, collectorMemoryEvents: Number(memoryEvents) };
const ctx = { ...base, size, root, bigDir: path.join(root, 'big') };
const selected = new Set(only ?? RUN_ORDER);
if ([...selected].some((id) => NEEDS_BIG.has(id))) selected.add('memory');
const log = (s) => (json ? process.stderr : process.stdout).write(s);

function runChild(id) {
  const execArgv = ['--expose-gc', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir, id)}`] : [])];
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./lib/child.mjs', import.meta.url)), [id, JSON.stringify(ctx)], { execArgv });
    let result;
    child.on('message', (m) => (result = m));
    child.on('error', reject);
    child.on('exit', (code) => (result && code === 0 ? resolve(result) : reject(new Error(`row ${id} failed (exit code ${code})`))));
  });
}

const cleanup = () => fs.rmSync(root, { recursive: true, force: true });
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

const started = Date.now();
const results = {};
try {
  for (const id of RUN_ORDER.filter((r) => selected.has(r))) {
    log(`${id} ... `);
    const t = Date.now();
    results[id] = judge(await runChild(id));
    log(`${((Date.now() - t) / 1000).toFixed(1)} s\n`);
  }
} finally {
  cleanup();
}

const rows = TABLE_ORDER.filter((id) => results[id]).map((id) => results[id]);
const command = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
const summary = { mode: quick ? 'quick' : 'full', command, machine: machine(), seconds: Math.round((Date.now() - started) / 1000), rows };
if (json) {
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
} else {
  const m = summary.machine;
  console.log(`\nsealed-ledger bench (${summary.mode}, ${summary.seconds} s): node ${m.node}, ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, ${m.platform}\n`);
  console.log(table(rows));
  const judged = rows.filter((r) => r.met !== null);
  console.log(`\n${notes(rows)}\n\nmet: ${judged.filter((r) => r.met).length}/${judged.length}`);
}
