/**
 * Errors as users see them (spec §15.3): one line on stderr, `sealed-ledger: <code>: <message>`,
 * and never a stack trace unless --debug asks for one.
 */
import { isSealedLedgerError } from '../errors.js';
import { errorCodeOf } from './exit-codes.js';

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** Where the error is, when its message does not say so already. */
function location(e: unknown): string {
  if (!isSealedLedgerError(e)) return '';
  const d = e.details;
  const extra: string[] = [];
  if (typeof d.seq === 'number' && !e.message.includes(`seq ${d.seq}`)) extra.push(`seq ${d.seq}`);
  if (Array.isArray(d.seqs) && !e.message.includes(String(d.seqs[0]))) extra.push(`seqs ${d.seqs.join(', ')}`);
  if (typeof d.offset === 'number' && extra.length > 0) extra.push(`offset ${d.offset}`);
  return extra.length ? ` (${extra.join(', ')})` : '';
}

export function errorLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const hint = isSealedLedgerError(e) ? '' : ' (an internal error: rerun with --debug and report it)';
  return `sealed-ledger: ${errorCodeOf(e)}: ${oneLine(message)}${location(e)}${hint}`;
}

/** The line, plus with `debug` the stack, details and cause chain. */
export function formatError(e: unknown, debug: boolean): string {
  let text = errorLine(e) + '\n';
  if (!debug) return text;
  for (let cur: unknown = e, depth = 0; cur !== undefined && depth < 8; depth++) {
    if (depth > 0) text += 'caused by: ';
    text += (cur instanceof Error ? cur.stack ?? cur.message : String(cur)) + '\n';
    if (isSealedLedgerError(cur) && Object.keys(cur.details).length > 0) text += `details: ${JSON.stringify(cur.details)}\n`;
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return text;
}
