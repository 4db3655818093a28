/**
 * The `collector` command grammar (spec §15.1, §18.9): serve, manage sources, verify and export
 * the collector store. Implementations load on first use.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import { parseCount, parsePositive } from './option-parsers.js';

const DB_HELP = 'the collector store: a SQLite file or a postgres:// URL';

export function registerCollectorCommands(program: Command, ctx: CliContext): void {
  const load = () => import('./commands/collector.js');
  const collector = program
    .command('collector')
    .summary('run the collector (HTTP ingest of shipped events, witness) or manage its store')
    .description('The collector (spec §18): `collector --db … --listen …` serves; `collector sources|verify|export` manage its store.');
  // `collector --db … --listen …` runs this default subcommand, so the serve options do not
  // collide with the --db of `collector sources add` and the others.
  collector
    .command('serve', { isDefault: true })
    .description(
      'Serve the collector: hosts POST their events.jsonl lines to /v1/sources/<name>/events; each line is verified like `verify` does and stored in one transaction per batch (spec §18).\nSIGTERM or SIGINT: stop taking requests, finish in-flight batches (within --shutdown-timeout), exit 0.',
    )
    .option('--db <db>', DB_HELP)
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8080')
    .option('--witness-key <file>', "the witness's signing key file (sealed-ledger keygen); serves POST /add-checkpoint")
    .option('--tls-cert <pem>', 'TLS certificate chain (PEM); with --tls-key, serve HTTPS')
    .option('--tls-key <pem>', 'TLS private key (PEM)')
    .option('--admin-token-file <file>', 'file holding a bearer token that may list and read every source')
    .option('--pool-size <n>', 'PostgreSQL connections', parsePositive, 10)
    .option('--rate <batches/s>', 'per-source batch rate limit (0: none)', parseCount, 50)
    .option('--shutdown-timeout <ms>', 'how long in-flight requests may finish on SIGTERM', parsePositive, 10_000)
    .option('--log-level <level>', 'pino log level (fatal, error, warn, info, debug)', 'info')
    .action(async (o) => (await load()).serve(ctx, o));

  const sources = collector.command('sources').summary('register and manage sources').description('Sources are the hosts allowed to ship: a name, a bearer token (shown once), event signing keys, checkpoint keys.');
  sources
    .command('add')
    .description("Register a source. --keys is the host's ledger folder, its keyring.json, or a file of verifier keys (sealed-ledger verifier-key). Prints the bearer token once: it is stored only as a hash.")
    .argument('<name>', 'source name: 1-63 of a-z 0-9 . _ -')
    .requiredOption('--db <db>', DB_HELP)
    .option('--keys <path>', 'ledger folder, keyring file or verifier-key file')
    .option('--origin <origin>', "the source's checkpoint origin (default: from the ledger folder's ledger.json)")
    .option('--require-signatures', 'refuse unsigned events')
    .option('--json', 'print JSON')
    .action(async (name: string, o) => (await load()).addSource(ctx, name, o));
  sources
    .command('list')
    .description('List sources: head, next seq, last event time, last cosigned size, fork count.')
    .requiredOption('--db <db>', DB_HELP)
    .option('--json', 'print JSON')
    .action(async (o) => (await load()).listSources(ctx, o));
  sources
    .command('show')
    .description('Show a source: head, keys and their windows, checkpoint keys, forks.')
    .argument('<name>', 'source name')
    .requiredOption('--db <db>', DB_HELP)
    .option('--json', 'print JSON')
    .action(async (name: string, o) => (await load()).showSource(ctx, name, o));
  sources
    .command('rotate-token')
    .description('Give a source a new bearer token (printed once); the old one stops working at once.')
    .argument('<name>', 'source name')
    .requiredOption('--db <db>', DB_HELP)
    .option('--json', 'print JSON')
    .action(async (name: string, o) => (await load()).rotateToken(ctx, name, o));
  sources
    .command('read-token')
    .description('Give a source a read token (printed once): it reads and follows its events, never ingests; replaces the previous one.')
    .argument('<name>', 'source name')
    .requiredOption('--db <db>', DB_HELP)
    .option('--json', 'print JSON')
    .action(async (name: string, o) => (await load()).issueReadToken(ctx, name, o));
  sources
    .command('add-key')
    .description('Register more keys of a source (a new signing key after rotation on the host).')
    .argument('<name>', 'source name')
    .requiredOption('--db <db>', DB_HELP)
    .requiredOption('--keys <path>', 'ledger folder, keyring file or verifier-key file')
    .option('--json', 'print JSON')
    .action(async (name: string, o) => (await load()).addSourceKey(ctx, name, o));
  sources
    .command('retire-key')
    .description("Retire a source's key from a seq and time on (default: its next seq, now); events it signed before stay valid.")
    .argument('<name>', 'source name')
    .argument('<kid>', 'key id (16 hex digits)')
    .requiredOption('--db <db>', DB_HELP)
    .option('--at-seq <seq>', 'first seq the key no longer covers', parseCount)
    .option('--at <time>', 'first time (RFC 3339 UTC) the key no longer covers')
    .option('--json', 'print JSON')
    .action(async (name: string, kid: string, o) => (await load()).retireSourceKey(ctx, name, kid, o));

  collector
    .command('verify')
    .description("Verify every source's chain, seals, signatures and cosigned checkpoint from the stored bytes; with --witness-vkey or --witness-key also the witness's cosignatures (spec §18.9.1). Exit 0 when all hold and no fork is recorded, 2 otherwise.")
    .requiredOption('--db <db>', DB_HELP)
    .option('--source <name>', 'only this source')
    .option('--witness-vkey <key>', "the witness's cosignature verifier key (or a file holding it): check its cosignature on every stored cosigned checkpoint")
    .option('--witness-key <file>', "the witness's signing key file: the same check, with the verifier key derived from it")
    .option(
      '--witness-log-head <source=hash>',
      "a witness log head recorded earlier (a previous verify prints it): the source's witness log must still contain it (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--json', 'print JSON')
    .action(async (o) => (await load()).verifyStore(ctx, o));

  collector
    .command('export')
    .description("Write a source's events as a ledger folder whose events.jsonl is byte-identical to the host's, with its keyring.json. Restore a host with: export, then sealed-ledger replay --rebuild <dir>.")
    .requiredOption('--db <db>', DB_HELP)
    .requiredOption('--source <name>', 'source name')
    .requiredOption('--out <dir>', 'folder to write (created; must not hold events.jsonl)')
    .option('--json', 'print JSON')
    .action(async (o) => (await load()).exportCommand(ctx, o));
}
