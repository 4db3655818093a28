// Two builds of the library, paired: appendBatch(1000) by each in alternating child processes
// (a fresh process and folder per measurement, the order swapped every round), signed or not,
// inline or with the projection worker. Prints each round and the median of the per-round
// ratios new/base, the figure to quote on a shared, drifting machine (ADR 0044).
//   npm run build && cp -r dist .bench-tmp/dist-base   # on the commit to compare against
//   npm run build && node bench/batch-ab.mjs --base .bench-tmp/dist-base [--mode signed|unsigned|worker|signed-worker] [--rounds 8] [--batches 20]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { option } from './lib/ab.mjs';
import { batchOf } from './lib/events.mjs';

const MODES = ['signed', 'unsigned', 'worker', 'signed-worker'];

if (process.argv[2] === '--child') {
  const [, , , indexPath, mode, batches] = process.argv;
  console.log(JSON.stringify(await child(indexPath, mode, Number(batches))));
} else {
  const base = option('--base');
  if (!base) throw new Error('--base DIR (a built dist/ to compare against, inside this checkout) is required');
  const mode = option('--mode', 'signed');
  if (!MODES.includes(mode)) throw new Error(`--mode is one of ${MODES.join(', ')}`);
  const rounds = Number(option('--rounds', '8'));
  const batches = option('--batches', '20');
  const builds = { base: path.resolve(base, 'index.js'), new: new URL('../dist/index.js', import.meta.url).pathname };
  const res = { base: [], new: [] };
  console.log(`mode ${mode}, ${rounds} rounds of ${batches} batches; load ${os.loadavg()[0].toFixed(2)}`);
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 ? ['new', 'base'] : ['base', 'new']) {
      const out = execFileSync(process.execPath, [new URL(import.meta.url).pathname, '--child', builds[name], mode, batches], { encoding: 'utf8' });
      res[name].push(JSON.parse(out));
      console.log(r, name.padEnd(4), out.trim());
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const name of ['base', 'new']) {
    console.log(name.padEnd(4), 'events/s', med(res[name].map((x) => x.evs)), 'CPU µs/event', med(res[name].map((x) => x.cpuUsPerEv)));
  }
  console.log(`load ${os.loadavg()[0].toFixed(2)}; new/base, median of ${rounds} paired rounds: ${med(res.new.map((x, i) => x.evs / res.base[i].evs)).toFixed(3)}x`);
}

/** Median events/s of `batches` appendBatch(1000) calls (each until flush()), and process CPU per event. */
async function child(indexPath, mode, batches) {
  const { Ledger, signingKeyFromSeed } = await import(pathToFileURL(indexPath).href);
  const signed = mode.startsWith('signed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'batch-ab-'));
  const ledger = await Ledger.open({
    dir,
    create: true,
    ...(signed ? { signer: signingKeyFromSeed(Buffer.alloc(32, 7), 'bench') } : {}),
    ...(mode.endsWith('worker') ? { projectionWorker: true } : {}),
  });
  try {
    const inputs = Array.from({ length: batches + 1 }, (_, b) => batchOf(1000, b * 1000));
    await ledger.appendBatch(inputs[0]); // warm-up: threads started, statements prepared
    const times = [];
    const c0 = process.cpuUsage();
    for (let b = 1; b <= batches; b++) {
      const t = performance.now();
      await ledger.appendBatch(inputs[b]);
      await ledger.flush();
      times.push(performance.now() - t);
    }
    const cpu = process.cpuUsage(c0);
    times.sort((a, b) => a - b);
    return { evs: Math.round(1e6 / times[Math.floor(times.length / 2)]), cpuUsPerEv: +((cpu.user + cpu.system) / (batches * 1000)).toFixed(1) };
  } finally {
    await ledger.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
