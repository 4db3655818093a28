// Peak memory of verifyEventSetParity, measured in a fresh process that does nothing else, so
// the figure is not inflated by whatever the bench did before.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function parityPeakRss(dir) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), dir], { encoding: 'utf8' });
  return JSON.parse(out);
}

/** The kernel's high-water mark of this process's RSS, in kB (Linux only). */
function vmHwmKB() {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.existsSync('/proc/self/status') ? fs.readFileSync('/proc/self/status', 'utf8') : '');
  return m ? Number(m[1]) : undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { verifyEventSetParity } = await import('../../dist/index.js');
  const beforeMB = +(process.memoryUsage.rss() / 2 ** 20).toFixed(1);
  const report = await verifyEventSetParity({ dir: process.argv[2] });
  if (!report.inParity) throw new Error('not in parity');
  const maxRssKB = process.resourceUsage().maxRSS;
  const hwm = vmHwmKB();
  process.stdout.write(JSON.stringify({ beforeMB, peakMB: +(Math.max(maxRssKB, hwm ?? 0) / 1024).toFixed(1), maxRssKB, vmHwmKB: hwm }));
}
