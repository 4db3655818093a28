/**
 * What each collector answer makes the shipper do (spec §20.4). A pure function of the reply, so
 * the table is tested on its own; the shipper only carries the actions out.
 */
import type { IngestReply } from './collector-client.js';

export type ReplyAction =
  /** 2xx: the collector holds everything before `next`. */
  | { kind: 'advance'; next: number; accepted: number; duplicates: number }
  /** 409 SEQ_GAP: resume from `next`. */
  | { kind: 'rewind'; next: number }
  /** 409 FORK: a different event at a stored seq; halt this destination, loudly. */
  | { kind: 'fork'; code: string; seq: number | undefined; reason: string }
  /** 413: the batch is too big for the collector; halve it. */
  | { kind: 'shrink' }
  /** 422: a line the collector refuses; lines before it were accepted (`next`). Halt, retry slowly, never skip. */
  | { kind: 'poison'; code: string; seq: number | undefined; next: number | undefined; reason: string }
  /** 401/403/404: our credentials or source name are wrong; halt until fixed. */
  | { kind: 'auth'; code: string; reason: string }
  /** Transient: 429/503 (with their Retry-After), other 5xx. */
  | { kind: 'transient'; code: string; retryAfter: string | undefined; reason: string }
  /** Any other answer: a protocol mismatch (our bug or the wrong server); halt, retry slowly. */
  | { kind: 'protocol'; code: string; reason: string };

export function replyAction(reply: IngestReply): ReplyAction {
  const { status, body } = reply;
  const code = typeof body.code === 'string' ? body.code : `HTTP_${status}`;
  const reason = typeof body.reason === 'string' ? body.reason : typeof body.message === 'string' ? body.message : `HTTP ${status}`;
  const next = isSeq(body.next) ? body.next : undefined;
  const seq = isSeq(body.seq) ? body.seq : undefined;
  if (status >= 200 && status < 300) {
    if (next === undefined) return { kind: 'protocol', code: 'BAD_REPLY', reason: `HTTP ${status} without a valid "next"` };
    return { kind: 'advance', next, accepted: count(body.accepted), duplicates: count(body.duplicates) };
  }
  if (status === 409) {
    if (code === 'SEQ_GAP' && next !== undefined) return { kind: 'rewind', next };
    if (code === 'FORK') return { kind: 'fork', code, seq, reason };
    return { kind: 'protocol', code, reason: `409 ${reason}` };
  }
  if (status === 413) return { kind: 'shrink' };
  if (status === 422) return { kind: 'poison', code, seq, next, reason };
  if (status === 401 || status === 403 || status === 404) return { kind: 'auth', code, reason };
  if (status === 429 || status === 503) return { kind: 'transient', code, retryAfter: reply.retryAfter, reason };
  if (status >= 500) return { kind: 'transient', code, retryAfter: undefined, reason };
  return { kind: 'protocol', code, reason };
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function count(v: unknown): number {
  return isSeq(v) ? v : 0;
}
