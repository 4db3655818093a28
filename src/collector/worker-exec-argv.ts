/**
 * The Node options the collector's worker threads (check workers, spec §18.3, and the SQLite
 * thread, §18.6.2) start with. A worker inherits the parent's
 * `execArgv` by default, and a collector started as `node -e …`, `node -p …` or
 * `node --input-type=module -e …` hands its workers the options that say "run this string":
 * Node then refuses to start the worker (`--input-type can only be used with string input`) or
 * the worker evaluates the parent's script, and the first batch large enough for the pool fails.
 * Everything else stays: `--conditions`, `--import`, `--loader`, `--require` and the like decide
 * how the worker's own modules resolve and load.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Options that take the next argument as their value when not written `--x=value`. */
const WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '-pe', '-ep', '--input-type']);
/** Options that are about the main script only. */
const MAIN_ONLY = new Set(['-i', '--interactive', '-c', '--check', '--test', '--watch', '--watch-preserve-output']);
const MAIN_ONLY_PREFIXES = ['--eval=', '--print=', '--input-type=', '--watch-path=', '--test-'];

/** `execArgv` without the main-script options; undefined when there are none (inherit as is). */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] | undefined {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if (WITH_VALUE.has(a)) {
      i++; // and its value
      continue;
    }
    if (MAIN_ONLY.has(a) || MAIN_ONLY_PREFIXES.some((p) => a.startsWith(p))) continue;
    out.push(a);
  }
  return out.length === execArgv.length ? undefined : out;
}

const INVALID = /invalid execArgv flags: (.*)$/;

/**
 * A worker on `script` (a URL, or code with `eval: true`) with workerExecArgv(). An explicit
 * `execArgv` may not name process-wide V8 options (`--expose-gc`, `--max-old-space-size`, …),
 * which an inherited one may: they already apply to every thread, so the ones Node names are
 * dropped and the worker started again. Evaluated code needs this as much as a file: under an
 * inherited `--input-type=module` it would run as a module, without `require`.
 */
export function startWorker(script: URL | string, options: WorkerOptions = {}, execArgv: readonly string[] = process.execArgv): Worker {
  const argv = workerExecArgv(execArgv);
  if (argv === undefined) return new Worker(script, options);
  try {
    return new Worker(script, { ...options, execArgv: argv });
  } catch (e) {
    const m = (e as NodeJS.ErrnoException).code === 'ERR_WORKER_INVALID_EXEC_ARGV' ? INVALID.exec((e as Error).message) : null;
    if (!m) throw e;
    const invalid = new Set(m[1]!.split(', '));
    return new Worker(script, { ...options, execArgv: argv.filter((a) => !invalid.has(a)) });
  }
}
