/**
 * `sealed-ledger export <dir>` (spec §15.1): events as JSONL on stdout, straight from the
 * canonical file. Streams in bounded memory at any ledger size and waits for a slow reader.
 * Each exported line is checked (canonical form, seal, seq, chain link, signature against the
 * folder's keyring) before it is written.
 */
import { LedgerStateError, VerificationError, isSealedLedgerError } from '../../errors.js';
import { loadFolderKeyring } from '../../ledger/folder-keyring.js';
import { NODE_FILE_IO } from '../../store/file-io.js';
import { JsonlFile } from '../../store/jsonl-file.js';
import type { CliContext } from '../context.js';
import { startOffsetHint } from '../export-start.js';
import { requireLedger } from '../ledger-folder.js';
import { ChunkedWriter } from '../output.js';
import { GENESIS_PREV, Keyring, parseEventLine, verifyEventSignature } from '../../index.js';

export interface ExportOptions {
  from?: number;
  to?: number;
  kind?: string;
  actor?: string;
}

function corrupt(e: unknown, offset: number, dir: string): unknown {
  if (!isSealedLedgerError(e)) return e;
  return new LedgerStateError('LEDGER_CORRUPT', `events.jsonl at offset ${offset}: ${e.message}; export stopped (run: sealed-ledger verify ${dir})`, {
    cause: e,
    details: { offset, ...e.details },
  });
}

interface Pending {
  text: string;
  seq: number;
  hash: string;
  kind: string;
  actor: string | undefined;
}

/**
 * Writes matching lines from `start`; false when the start hint proved wrong (nothing written).
 * A line is written only once the next line chains to it (or it is the last line), and only with
 * a signature the folder's keyring verifies: export never prints an event that verify would
 * report, such as one re-sealed without its signature, whose successor no longer chains to it.
 */
async function exportFrom(ctx: CliContext, jsonl: JsonlFile, start: number, o: ExportOptions, dir: string, keyring: Keyring): Promise<boolean> {
  const total = jsonl.size();
  const bar = ctx.progress('export', false);
  const w = new ChunkedWriter(ctx.out);
  let n = 0;
  let pending: Pending | undefined;
  const emit = async (p: Pending) => {
    if (o.from !== undefined && p.seq < o.from) return true;
    if ((o.kind !== undefined && p.kind !== o.kind) || (o.actor !== undefined && p.actor !== o.actor)) return true;
    return w.line(p.text);
  };
  try {
    for (const line of jsonl.lines(start, undefined, total)) {
      let ev;
      try {
        ev = parseEventLine(line.text, { offset: line.offset, ...(line.lineNo ? { lineNo: line.lineNo } : {}) }).event;
      } catch (e) {
        // This line is damaged in itself; nothing says the one before it is: deliver it.
        if (pending && isSealedLedgerError(e)) await emit(pending);
        await w.flush();
        throw corrupt(e, line.offset, dir);
      }
      try {
        if (pending ? ev.seq !== pending.seq + 1 : start === 0 && ev.seq !== 0) {
          throw new VerificationError('SEQ_GAP', `seq ${ev.seq} follows seq ${pending?.seq ?? 'nothing'}`, { details: { seq: ev.seq } });
        }
        if (pending ? ev.prev !== pending.hash : start === 0 && ev.prev !== GENESIS_PREV) {
          throw new VerificationError('CHAIN_BROKEN', `seq ${ev.seq}: prev does not match the hash of seq ${ev.seq - 1}`, { details: { seq: ev.seq } });
        }
      } catch (e) {
        await w.flush(); // a broken link may be the predecessor's doing: it is not delivered
        throw corrupt(e, line.offset, dir);
      }
      if (n++ === 0 && start > 0 && ev.seq !== o.from) return false;
      if (n % 65536 === 0) bar.update(line.offset, total);
      // This line chains to the pending one: that one is confirmed.
      if (pending && !(await emit(pending))) return true; // the reader went away
      pending = undefined;
      try {
        if (ev.sig) verifyEventSignature(ev, keyring);
      } catch (e) {
        await w.flush();
        throw corrupt(e, line.offset, dir);
      }
      if (o.to !== undefined && ev.seq > o.to) break;
      pending = { text: line.text, seq: ev.seq, hash: ev.hash, kind: ev.kind, actor: ev.actor };
    }
    if (pending) await emit(pending);
    await w.flush();
    return true;
  } finally {
    bar.stop();
  }
}

export async function exportEvents(ctx: CliContext, dir: string, o: ExportOptions): Promise<void> {
  const paths = requireLedger(dir);
  const jsonl = JsonlFile.open(paths.jsonl, NODE_FILE_IO, { readOnly: true });
  try {
    const hint = startOffsetHint(paths.sqlite, jsonl, o.from ?? 0);
    const keyring = loadFolderKeyring(paths.keyring) ?? new Keyring();
    if (!(await exportFrom(ctx, jsonl, hint, o, dir, keyring))) await exportFrom(ctx, jsonl, 0, o, dir, keyring);
  } finally {
    jsonl.close();
  }
}
