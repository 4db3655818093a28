/**
 * `sealed-ledger append <dir>` (spec §13.1, §15.1): one event from flags, or JSONL on stdin
 * appended as one atomic batch. Every stdin line is validated before the ledger is touched.
 */
import { InvalidInputError } from '../../errors.js';
import { readOrCreateMetadata } from '../../ledger/metadata.js';
import { NODE_FILE_IO } from '../../store/file-io.js';
import type { CliContext } from '../context.js';
import { requireLedger } from '../ledger-folder.js';
import { ChunkedWriter } from '../output.js';
import { type NumberedInput, parseInputLine, readInputLines, withLineNumber } from '../stdin-events.js';
import { canonicalize, Ledger, readSigningKeyFile, type SealedEvent, type SigningKey } from '../../index.js';

export interface AppendFlags {
  key?: string;
  kind?: string;
  payload?: string;
  actor?: string;
  id?: string;
  at?: string;
  json?: boolean;
}

function inputFromFlags(o: AppendFlags): NumberedInput[] {
  let payload: unknown = null;
  if (o.payload !== undefined) {
    try {
      payload = JSON.parse(o.payload);
    } catch (e) {
      throw new InvalidInputError('INVALID_JSON', `--payload is not valid JSON (${(e as Error).message})`);
    }
  }
  const fields = { kind: o.kind, payload, actor: o.actor, id: o.id, at: o.at };
  const input = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return [{ lineNo: 1, input: parseInputLine(JSON.stringify(input), 'the event given by flags') }];
}

async function readInputs(o: AppendFlags, stdin: NodeJS.ReadStream): Promise<NumberedInput[]> {
  if (o.kind !== undefined) return inputFromFlags(o);
  if (o.payload !== undefined || o.actor !== undefined || o.id !== undefined || o.at !== undefined) {
    throw new InvalidInputError('INVALID_ARGUMENT', '--payload, --actor, --id and --at describe one event: give --kind too');
  }
  if (stdin.isTTY) {
    throw new InvalidInputError('INVALID_ARGUMENT', 'nothing to append: pipe JSONL (one event per line) on stdin, or give --kind and --payload');
  }
  return readInputLines(stdin);
}

export async function append(ctx: CliContext, dir: string, o: AppendFlags, stdin: NodeJS.ReadStream = process.stdin): Promise<void> {
  const paths = requireLedger(dir);
  if (o.key === undefined) {
    const from = readOrCreateMetadata(paths.metadata, undefined, NODE_FILE_IO, true).signaturesRequiredFrom;
    if (from !== undefined) {
      throw new InvalidInputError('INVALID_ARGUMENT', `this ledger requires signed events from seq ${from} (ledger.json); give --key <file>. Nothing was written`, {
        details: { dir: paths.dir, requiredFrom: from },
      });
    }
  }
  const key: SigningKey | undefined = o.key === undefined ? undefined : readSigningKeyFile(o.key);
  const inputs = await readInputs(o, stdin);
  if (inputs.length === 0) ctx.note('0 events on stdin: nothing appended');
  const ledger = await Ledger.open({ dir, signer: key, lockTimeoutMs: ctx.lockTimeoutMs });
  for (const w of ledger.warnings) ctx.note(`warning: ${w}`);
  let events: SealedEvent[];
  let before: number;
  try {
    before = ledger.headInfo().seq;
    try {
      events = inputs.length === 0 ? [] : await ledger.appendBatch(inputs.map((i) => i.input));
    } catch (e) {
      throw o.kind === undefined ? withLineNumber(e, inputs) : e;
    }
  } finally {
    await ledger.close();
  }
  const head = ledger.headInfo();
  if (o.json) {
    const fresh = events.filter((e) => e.seq > before);
    await ctx.out.json({
      appended: fresh.length,
      // Retried ids (spec §13.6) return their stored events; they are counted apart.
      alreadyPresent: events.length - fresh.length,
      firstSeq: events[0]?.seq ?? null,
      lastSeq: events.at(-1)?.seq ?? null,
      head,
    });
    return;
  }
  const w = new ChunkedWriter(ctx.out);
  for (const e of events) if (!(await w.line(canonicalize(e)))) break;
  await w.flush();
}
