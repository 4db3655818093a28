/**
 * The `sealed-ledger` command line (spec §15): commander parses, the library does the work, and
 * every failure becomes one stderr line and an exit status from exit-codes.ts.
 */
import fs from 'node:fs';
import { Command, CommanderError } from 'commander';
import { SealedLedgerError } from '../errors.js';
import { CliContext } from './context.js';
import { CLI_CODES, EXIT, exitCodeFor } from './exit-codes.js';
import { parsePositive } from './option-parsers.js';
import { formatError } from './report-error.js';
import { asIoError } from '../store/os-error.js';
import { registerCommands } from './commands.js';

function packageVersion(): string {
  // dist/cli/main.js and src/cli/program.ts both sit two levels below package.json.
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const EXIT_CODES_HELP = `
Exit codes:
  0   OK: everything checked holds
  1   DRIFT: ledger.db lacks events or events.jsonl has a torn last line; doctor --reconcile heals it
  2   TAMPERED: a seal, chain link, signature or checkpoint fails, or the stores disagree
  64  usage error            65  bad input data        66  ledger or input file not found
  70  internal error         73  cannot create (exists) 74  I/O error
  75  lock timeout or conflict: retry
Errors are one line on stderr: "sealed-ledger: <code>: <message>" (--debug adds the stack).`;

function buildProgram(ctx: CliContext): Command {
  const program = new Command('sealed-ledger')
    .description('A signed, append-only audit ledger: canonical JSONL, a SQLite projection, Ed25519 signatures, RFC 6962 checkpoints.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('-q, --quiet', 'no progress bars and no human reports (data and --json are still printed)')
    .option('--debug', 'print stack traces with errors')
    .option('--lock-timeout <ms>', "how long commands that write wait for another writer's lock", parsePositive, 10_000)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(`sealed-ledger: USAGE: ${str.replace(/^error: /, '').trim()} (see --help)\n`),
    })
    .addHelpText('after', EXIT_CODES_HELP);
  // The global flags are read before any action runs.
  program.hook('preAction', (thisCommand) => {
    Object.assign(ctx.flags, thisCommand.opts());
    ctx.out.quiet = ctx.flags.quiet === true;
  });
  registerCommands(program, ctx);
  return program;
}

/** Runs the CLI on `args` (without node and script); resolves to the exit status. */
export async function run(args: readonly string[]): Promise<number> {
  const ctx = new CliContext({ debug: args.includes('--debug'), quiet: args.includes('--quiet') || args.includes('-q') });
  try {
    await buildProgram(ctx).parseAsync(args as string[], { from: 'user' });
    if (ctx.out.failure) {
      throw new SealedLedgerError('IO_ERROR', `cannot write to stdout: ${(ctx.out.failure as NodeJS.ErrnoException).code ?? ctx.out.failure.message}`, { cause: ctx.out.failure });
    }
    return ctx.exitCode;
  } catch (caught) {
    if (caught instanceof CommanderError) return caught.exitCode === 0 ? EXIT.OK : CLI_CODES.USAGE; // already printed
    // An OS refusal the library did not type itself still names its path and errno (spec §15.4).
    const e = asIoError(caught);
    process.stderr.write(formatError(e, ctx.flags.debug === true));
    return exitCodeFor(e);
  }
}
