/**
 * The command-line grammar (spec §15.1): every command, argument, option and help text. Each
 * action loads its implementation on first use, so --help, --version and usage errors answer
 * without loading SQLite and the cryptography.
 */
import type { Command } from 'commander';
import type { AppendFlags } from './commands/append.js';
import type { DoctorOptions } from './commands/doctor.js';
import type { ExportOptions } from './commands/export.js';
import type { InitOptions } from './commands/init.js';
import type { KeygenOptions } from './commands/keygen.js';
import type { AddOptions } from './commands/keys.js';
import type { TailOptions } from './commands/tail.js';
import type { VerifyFlags } from './commands/verify.js';
import { registerCollectorCommands } from './collector-commands.js';
import type { ResetOptions } from './commands/consumers.js';
import type { CliContext } from './context.js';
import { parseCount, parsePositive } from './option-parsers.js';
import { registerShip } from './ship-command.js';

type Json = { json?: boolean };

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerCommands(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .summary('run the whole job on a local demo ledger')
    .description(
      'Create a key and a ledger, append signed events (atomic batches and concurrent appends), verify, delete ledger.db, verify (drift), replay, verify again, sign a checkpoint and check an inclusion proof, timing each step.\nThe key goes next to the folder (<dir>.key.json, mode 0600). A previous demo ledger at <dir> is moved aside to <dir>.old-<time>; any other existing content is refused.',
    )
    .argument('[dir]', 'folder for the demo ledger', 'demo-ledger')
    .option('--events <n>', 'how many events to append', parsePositive, 300)
    .action(async (dir: string, o: { events: number }) => (await import('./commands/demo.js')).demo(ctx, dir, o));

  program
    .command('init')
    .summary('create a ledger folder')
    .description("Create a ledger folder (events.jsonl, ledger.db, ledger.json). With --key or --new-key, register a signing key's public key in its keyring.json.")
    .argument('<dir>', 'folder to create (new or empty)')
    .option('--key <file>', 'register the public key of an existing key file')
    .option('--new-key <file>', 'create a new signing key file (mode 0600, outside <dir>) and register it')
    .option('--name <name>', 'name of the new key (default: ledger-<kid>)')
    .option('--origin <origin>', 'checkpoint origin line, fixed for the ledger\'s life (default: sealed-ledger.local/<uuid>)')
    .option('--require-signatures', 'record in ledger.json that every event must be signed; append, reconcile, replay, doctor and verify then enforce it')
    .option('--json', 'print a JSON summary')
    .action(async (dir: string, o: InitOptions) => (await import('./commands/init.js')).initLedger(ctx, dir, o));

  program
    .command('keygen')
    .summary('create a signing key file')
    .description('Create an Ed25519 signing key file (mode 0600; never overwrites) and print its kid, public key and C2SP verifier key.')
    .requiredOption('--out <file>', 'where to write the key file')
    .option('--name <name>', 'key name, used in checkpoint signatures (default: ledger-<kid>)')
    .option('--json', 'print JSON')
    .action(async (o: KeygenOptions) => (await import('./commands/keygen.js')).keygen(ctx, o));

  const keys = program.command('keys').summary('list, add or retire keyring keys').description("Manage the public keys in a ledger's keyring.json.");
  keys
    .command('list')
    .description('List the keyring: kid, name, validity window, verifier key.')
    .argument('<dir>', 'ledger folder')
    .option('--json', 'print JSON')
    .action(async (dir: string, o: Json) => (await import('./commands/keys.js')).listKeys(ctx, dir, o));
  keys
    .command('add')
    .description('Add a public key: from a key file, or as base64 with a name.')
    .argument('<dir>', 'ledger folder')
    .option('--key <file>', 'key file whose public key to add')
    .option('--public-key <base64>', 'a 32-byte Ed25519 public key, base64')
    .option('--name <name>', 'name for --public-key')
    .option('--json', 'print JSON')
    .action(async (dir: string, o: AddOptions) => (await import('./commands/keys.js')).addKey(ctx, dir, o));
  keys
    .command('retire')
    .description('Retire a key from the next seq and from now on; what it signed before stays valid.')
    .argument('<dir>', 'ledger folder')
    .argument('<kid>', 'key id (16 hex digits)')
    .option('--json', 'print JSON')
    .action(async (dir: string, kid: string, o: Json) => (await import('./commands/keys.js')).retireKey(ctx, dir, kid, o));

  program
    .command('policy')
    .summary("show or record the ledger's signing policy")
    .description("Print the signing policy and limits recorded in ledger.json. With --require-signatures, record that every event from the next seq on must be signed (history before it is kept as it is); append, reconcile, replay, doctor and verify then enforce it without a flag. It cannot be undone with this command.")
    .argument('<dir>', 'ledger folder')
    .option('--require-signatures', 'require signed events from the next seq on')
    .option('--json', 'print JSON')
    .action(async (dir: string, o: Json & { requireSignatures?: boolean }) => (await import('./commands/policy.js')).policy(ctx, dir, o));

  program
    .command('append')
    .summary('append events (flags, or JSONL on stdin)')
    .description(
      'Append one event given by --kind/--payload, or the events read as JSONL on stdin (one {"kind","payload","actor"?,"id"?,"at"?} per line) as one atomic batch: one bad line rejects them all, naming its line number, and nothing is written. Prints the sealed events as JSONL.',
    )
    .argument('<dir>', 'ledger folder')
    .option('--key <file>', 'sign with this key file (its key must be in the keyring, or the keyring empty)')
    .option('--kind <kind>', 'event kind, e.g. user.login')
    .option('--payload <json>', 'event payload as JSON (default: null)')
    .option('--actor <actor>', 'who did it')
    .option('--id <id>', 'idempotency key (default: a new UUIDv7)')
    .option('--at <time>', 'RFC 3339 UTC time (default: now)')
    .option('--json', 'print {appended, alreadyPresent, firstSeq, lastSeq, head} instead of the events')
    .action(async (dir: string, o: AppendFlags) => (await import('./commands/append.js')).append(ctx, dir, o));

  program
    .command('verify')
    .summary('check seals, chain, signatures, checkpoints and JSONL <-> SQLite parity')
    .description(
      "Check every event's canonical form, seal, chain link and signature, every stored checkpoint, ledger.db's Merkle nodes, watermark and tamper records, and JSONL <-> SQLite parity. Changes nothing.\nWithout --trusted-keys, signatures are checked against the folder's own keyring.json: that proves integrity against accidents, not against whoever can write the folder. With --trusted-keys and --checkpoint, against keys and checkpoints kept elsewhere (spec §17).\nExit 0: all holds. 1: drift that doctor --reconcile heals. 2: tampering or corruption.",
    )
    .argument('<dir>', 'ledger folder')
    .option('--json', 'print the VerifyReport as JSON')
    .option('--require-signatures', 'report unsigned events as problems')
    .option('--workers <n>', 'worker threads checking seals and signatures; 0: all on one thread (default: one per core, up to 8; none below 1 MiB)', parseCount)
    .option('--trusted-keys <file>', 'check signatures and checkpoints only against these keys, obtained out of band: a keyring file, or verifier keys one per line (default: the folder\'s own keyring, which proves nothing against whoever can write the folder)')
    .option('--checkpoint <note-file>', 'a signed checkpoint held outside the folder: the ledger must extend it (repeatable)', collect, [])
    .option('--verifier-key <vkey>', 'verifier key (name+id+base64) for --checkpoint (repeatable; default: the --trusted-keys)', collect, [])
    .option('--witness-key <vkey>', "a witness's cosignature verifier key, or a file of them: every witness.jsonl record must verify under it, one must exist, and the ledger must extend them (repeatable)", collect, [])
    .option('--witness-url <url>', "the collector serving the witness: its latest cosigned checkpoint of --source must be extended too, whatever witness.jsonl says (needs --witness-key)")
    .option('--source <name>', 'the source name at --witness-url')
    .option('--ca <pem>', 'CA certificate (PEM) for an https --witness-url, as for ship --ca')
    .action(async (dir: string, o: VerifyFlags) => (await import('./commands/verify.js')).verify(ctx, dir, o));

  program
    .command('doctor')
    .summary('diagnose drift; with --reconcile, heal it')
    .description(
      'Diagnose: run verify and report how many events ledger.db lacks (drift). With --reconcile: heal the drift (replay missing rows, restore hand-deleted rows, move a torn last line to torn/), then re-check parity. Refuses, changing nothing, when it finds tampering, and names the seqs.\nExit 0: healthy (or healed). 1: drift (without --reconcile). 2: tampering or corruption that reconcile must not heal.',
    )
    .argument('<dir>', 'ledger folder')
    .option('--reconcile', 'heal the drift')
    .option('--json', 'print JSON')
    .action(async (dir: string, o: DoctorOptions) => (await import('./commands/doctor.js')).doctor(ctx, dir, o));

  program
    .command('replay')
    .summary('rebuild or catch up ledger.db from events.jsonl')
    .description(
      'Replay events.jsonl into ledger.db (from its watermark; from scratch when ledger.db is missing). With --rebuild, build a fresh ledger.db from events.jsonl alone beside the old one; only when it reaches the old one\'s head is the old ledger.db (and its -wal/-shm files) moved aside to ledger.db.bak-<time> (never deleted) and the new one put in its place; otherwise nothing changes (exit 2). Writers still open refuse to write after the swap. Prints the ReplayReport.',
    )
    .argument('<dir>', 'ledger folder')
    .option('--rebuild', 'move the existing ledger.db aside and build a new one')
    .option('--workers <n>', 'worker threads checking seals and signatures when ledger.db starts empty (every --rebuild); 0: all on one thread (default: one per core beyond the first, at least 1; none below 1 MiB)', parseCount)
    .option('--json', 'print the ReplayReport as JSON')
    .action(async (dir: string, o: Json & { rebuild?: boolean; workers?: number }) => (await import('./commands/replay.js')).replay(ctx, dir, o));

  program
    .command('export')
    .summary('print events as JSONL')
    .description('Print events from events.jsonl as JSONL (their canonical lines), in seq order, streamed in bounded memory. Each line is checked (canonical form, seal) first. Filters combine with AND.')
    .argument('<dir>', 'ledger folder')
    .option('--from <seq>', 'first seq', parseCount)
    .option('--to <seq>', 'last seq (inclusive)', parseCount)
    .option('--kind <kind>', 'only events of this kind')
    .option('--actor <actor>', 'only events by this actor')
    .action(async (dir: string, o: ExportOptions) => (await import('./commands/export.js')).exportEvents(ctx, dir, o));

  program
    .command('tail')
    .summary('print the last events; --follow for new ones')
    .description('Print the last N complete lines of events.jsonl. With --follow, keep printing each later event once it is durable and verified (seal, chain, signature) until SIGINT or SIGTERM (then exit 0).')
    .argument('<dir>', 'ledger folder')
    .option('-n, --lines <count>', 'how many lines', parseCount, 10)
    .option('-f, --follow', 'keep printing new events')
    .option('--interval <ms>', 'how often --follow looks when no file notification came', parsePositive, 250)
    .action(async (dir: string, o: TailOptions) => (await import('./commands/tail.js')).tail(ctx, dir, o));

  const consumers = program.command('consumers').summary('list or reset durable consumer offsets').description("Durable consumers' offsets, stored in <dir>/consumers/<name>.json (spec §21.5).");
  consumers
    .command('list')
    .description('List consumers: name, last acknowledged seq, how many durable events are after it (lag), when it last acknowledged.')
    .argument('<dir>', 'ledger folder')
    .option('--json', 'print [{name, seq, hash, offset, updatedAt, lag}]')
    .action(async (dir: string, o: Json) => (await import('./commands/consumers.js')).listConsumers(ctx, dir, o));
  consumers
    .command('reset')
    .description('Make consumer --name resume at --to-seq (default 0: from the start). Stop the consumer first: a running one overwrites the reset with its next acknowledgement.')
    .argument('<dir>', 'ledger folder')
    .requiredOption('--name <name>', 'consumer name (letters, digits, . _ -)')
    .option('--to-seq <seq>', 'first seq the consumer gets next', parseCount, 0)
    .option('--json', 'print the new offset as JSON')
    .action(async (dir: string, o: ResetOptions) => (await import('./commands/consumers.js')).resetConsumer(ctx, dir, o));

  program
    .command('checkpoint')
    .summary('sign and print a checkpoint of the current tree')
    .description('Sign a C2SP tlog-checkpoint (origin, tree size, root hash) as a signed note, store it, and print it. Check it against the output of verifier-key.')
    .argument('<dir>', 'ledger folder')
    .requiredOption('--key <file>', 'signing key file (its key must be in the keyring)')
    .option('--json', 'print {origin, size, rootHash, note}')
    .action(async (dir: string, o: Json & { key: string }) => (await import('./commands/checkpoint.js')).checkpoint(ctx, dir, o));

  program
    .command('verifier-key')
    .summary('print C2SP verifier key strings')
    .description("Print the verifier key string (<name>+<hex key hash>+<base64 key>) of a key file, or of every key in a ledger's keyring, one per line. Retired keys are included: what they signed before retirement still verifies.")
    .argument('<dir|keyfile>', 'ledger folder or key file')
    .option('--json', 'print [{kid, name, publicKey, verifierKey, window, retired}]')
    .action(async (target: string, o: Json) => (await import('./commands/verifier-key.js')).verifierKey(ctx, target, o));

  const prove = program.command('prove').summary('print Merkle inclusion and consistency proofs').description('RFC 6962/9162 Merkle proofs over the ledger (leaf index = seq, leaf hash = event hash).');
  prove
    .command('inclusion')
    .description('Prove that event --seq is in the tree of --size leaves (default: the current size).')
    .argument('<dir>', 'ledger folder')
    .requiredOption('--seq <n>', 'event seq (leaf index)', parseCount)
    .option('--size <m>', 'tree size (default: current)', parseCount)
    .option('--json', 'print {index, treeSize, leafHash, rootHash, proof: [hex...]}')
    .action(async (dir: string, o: Json & { seq: number; size?: number }) => (await import('./commands/prove.js')).proveInclusion(ctx, dir, o));
  prove
    .command('consistency')
    .description('Prove that the tree of --from leaves is a prefix of the tree of --to leaves (default: current).')
    .argument('<dir>', 'ledger folder')
    .requiredOption('--from <m1>', 'older tree size', parseCount)
    .option('--to <m2>', 'newer tree size (default: current)', parseCount)
    .option('--json', 'print {fromSize, toSize, fromRoot, toRoot, proof: [hex...]}')
    .action(async (dir: string, o: Json & { from: number; to?: number }) => (await import('./commands/prove.js')).proveConsistency(ctx, dir, o));

  registerCollectorCommands(program, ctx);
  registerShip(program, ctx);
}
