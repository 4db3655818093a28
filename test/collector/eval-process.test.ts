// spec §18.3: the check workers start with the collector's Node options minus the ones that name
// the main script. A collector started from `node -e` / `node --input-type=module -e` used to
// fail its first batch large enough for the worker pool, because the workers inherited `-e`.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { workerExecArgv } from '../../src/collector/worker-exec-argv.js';
import { openCollectorDatabase } from '../../src/collector/database.js';
import { SourceRegistry } from '../../src/collector/sources.js';
import { ensureBuilt, ROOT } from '../cli/cli-harness.js';
import { collectorListening, post } from './processes.js';
import { HostChain, keyEntry, newDatabase, removeTempDirs } from './support.js';

afterAll(removeTempDirs);

describe('workerExecArgv', () => {
  it('drops -e/-p/--eval/--print/--input-type with their values and keeps module-loading options', () => {
    expect(workerExecArgv(['--conditions=dev', '-e', 'code', '--no-warnings'])).toEqual(['--conditions=dev', '--no-warnings']);
    expect(workerExecArgv(['--input-type', 'module', '--eval', 'x', '--import', 'tsx'])).toEqual(['--import', 'tsx']);
    expect(workerExecArgv(['--input-type=module', '--eval=x', '-r', 'pre.cjs', '--loader', 'l.mjs'])).toEqual(['-r', 'pre.cjs', '--loader', 'l.mjs']);
    expect(workerExecArgv(['-pe', 'x', '--max-old-space-size=100'])).toEqual(['--max-old-space-size=100']);
    expect(workerExecArgv(['-p', 'x', '-i', '--check'])).toEqual([]);
    // Nothing to drop: the worker inherits execArgv as Node passes it (V8 options included).
    expect(workerExecArgv(['--expose-gc', '--conditions=dev'])).toBeUndefined();
  });
});

const EVAL_FORMS: [string, string[]][] = [
  ['node --input-type=module -e', ['--input-type=module', '-e']],
  ['node --input-type module --eval', ['--input-type', 'module', '--eval']],
  ['node -e (CommonJS, --conditions kept)', ['--conditions=node', '-e']],
  // V8 options may be inherited but not passed explicitly to a worker: they are dropped.
  ['node --expose-gc --max-old-space-size=200 --input-type=module -e', ['--expose-gc', '--max-old-space-size=200', '--input-type=module', '-e']],
];

describe.each(EVAL_FORMS)('a collector started with %s', (_name, flags) => {
  it('accepts a 300-line signed batch checked by its worker pool', { timeout: 60_000 }, async () => {
    ensureBuilt();
    const db = await newDatabase('sqlite', 'eval');
    const host = new HostChain();
    host.append(300);
    const h = await openCollectorDatabase(db);
    const { token } = await new SourceRegistry(h).add({ name: 'evalhost', eventKeys: [keyEntry(host.key!)], requireSignatures: true }).finally(() => h.close());
    const entry = JSON.stringify(path.join(ROOT, 'dist/collector/index.js'));
    const esm = flags.includes('-e') && flags[0] === '--conditions=node' ? false : true;
    const code = esm
      ? `const { createCollector } = await import(${entry});
         const c = await createCollector({ db: ${JSON.stringify(db)}, rateLimit: false, logger: { level: 'warn' } });
         console.log(JSON.stringify({ url: await c.listen() }));
         process.on('SIGTERM', () => c.close().then(() => process.exit(0)));`
      : `import(${entry}).then(async ({ createCollector }) => {
           const c = await createCollector({ db: ${JSON.stringify(db)}, rateLimit: false, logger: { level: 'warn' } });
           console.log(JSON.stringify({ url: await c.listen() }));
           process.on('SIGTERM', () => c.close().then(() => process.exit(0)));
         });`;
    const child = spawn(process.execPath, [...flags, code], { stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = await collectorListening(child);
    try {
      const r = await post(proc.url, 'evalhost', token, host.body(0, 300));
      expect(r.status, `${JSON.stringify(r.json)}\n${proc.logs()}`).toBe(200);
      expect(r.json.accepted).toBe(300);
    } finally {
      child.kill('SIGTERM');
      await proc.exited;
    }
  });
});
