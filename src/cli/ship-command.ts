/**
 * The grammar of `sealed-ledger ship` (spec §20.8), kept apart from commands.ts so that the
 * command table gains one line.
 */
import type { Command } from 'commander';
import type { ShipCliOptions } from './commands/ship.js';
import type { CliContext } from './context.js';
import { parseCount, parsePositive } from './option-parsers.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerShip(program: Command, ctx: CliContext): void {
  program
    .command('ship')
    .summary('ship events to a collector (long-running sidecar), or --status')
    .description(
      'Ship the events of a ledger folder to a collector, as they are appended: reads the folder only (never the writer lock, never ledger.db writes), wakes by fs.watch with a polling fallback, one JSON log line per state change on stdout. SIGTERM or SIGINT drains for at most --drain-ms, then exits 0.\n' +
        'With --status: print what the running shipper last recorded (state, shipped-through seq, lag) and exit 0 running, 1 backing off, 2 halted, 3 not running, 66 no status recorded.',
    )
    .argument('<dir>', 'ledger folder')
    .option('--to <url>', 'collector base URL (http or https)')
    .option('--source <name>', 'source name registered at the collector')
    .option('--token-file <file>', 'file holding the bearer token (re-read after 401/403)')
    .option('--ca <pem>', 'CA certificate (PEM) for an https collector')
    .option('--status', 'print the recorded status and exit')
    .option('--status-file <file>', 'where the status is recorded (default <dir>/ship-<source>.status.json)')
    .option('--batch-lines <n>', 'lines per batch', parsePositive, 1000)
    .option('--batch-bytes <n>', 'bytes per batch', parsePositive, 1 << 20)
    .option('--backoff-min <ms>', 'first backoff ceiling', parsePositive, 1000)
    .option('--backoff-max <ms>', 'largest backoff ceiling', parsePositive, 300_000)
    .option('--halted-retry <ms>', 'retry interval while halted (422, FORK)', parsePositive, 60_000)
    .option('--poll <ms>', 'poll interval beside fs.watch', parsePositive, 500)
    .option('--drain-ms <ms>', 'bound on the drain at SIGTERM', parseCount, 5000)
    .option('--checkpoint-key <file>', "sign checkpoints with this key file and have the collector's witness cosign them; cosignatures go to <dir>/witness.jsonl")
    .option('--witness-key <vkey>', "the witness's cosignature verifier key, or a file of them (repeatable): a cosignature none of them verifies is not stored (halt WITNESS_UNTRUSTED)", collect, [])
    .option('--checkpoint-every <n>', 'shipped events between checkpoints', parsePositive, 10_000)
    .option('--checkpoint-interval <ms>', 'longest time between checkpoints while events are shipped', parsePositive, 60_000)
    .option('--json', 'with --status: print JSON')
    .action(async (dir: string, o: ShipCliOptions) => (await import('./commands/ship.js')).shipCommand(ctx, dir, o));
}
