/**
 * One ingest batch from body bytes to a response (spec §18.3, §18.5): decompress within the
 * limit, count lines, check each line as `verify` does, then one transaction of chain checks and
 * inserts. Pure of HTTP: the route turns the result into a status and headers.
 */
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { CollectorError } from '../errors.js';
import type { LineLimits } from './batch-lines.js';
import type { CheckPool } from './check-pool.js';
import { ONE_CHUNK, type ChunkPlan } from './chunk-plan.js';
import { STALE, type AppendOutcome, type EventStore, type Head } from './event-store.js';
import type { IngestContext, SourceRegistry } from './sources.js';

const gunzipAsync = promisify(gunzip);

export interface IngestLimits extends LineLimits {
  /** Lines per batch. Default 1,000. */
  maxLines: number;
  /** Body bytes, compressed and decompressed alike. Default 5 MB. */
  maxBodyBytes: number;
}

export interface IngestReply {
  accepted: number;
  duplicates: number;
  next: number;
  head: Head | null;
  code?: string;
  message?: string;
  seq?: number;
  /** 1-based line of the batch that stopped it. */
  line?: number;
}

export interface IngestResult {
  status: number;
  body: IngestReply;
  /** Set when this batch recorded a fork. */
  fork?: { seq: number; stored: Buffer; offered: Buffer };
}

export async function decodeBody(raw: Buffer, encoding: string | undefined, maxBytes: number): Promise<Buffer> {
  if (encoding === undefined || encoding === 'identity') return raw;
  try {
    return await gunzipAsync(raw, { maxOutputLength: maxBytes });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new CollectorError('PAYLOAD_TOO_LARGE', `the decompressed body exceeds ${maxBytes} bytes`, { details: { limit: maxBytes } });
    }
    throw new CollectorError('MALFORMED_BODY', `the body is not valid gzip: ${(e as Error).message}`, { cause: e });
  }
}

function countLines(body: Buffer): number {
  let n = 0;
  for (let i = body.indexOf(0x0a); i !== -1; i = body.indexOf(0x0a, i + 1)) n++;
  return body.length > 0 && body[body.length - 1] !== 0x0a ? n + 1 : n;
}

/** Retries of a batch whose credentials changed under it before it is refused as unavailable. */
const STALE_RETRIES = 3;

export async function ingestBatch(
  deps: { sources: SourceRegistry; events: EventStore; checker: CheckPool },
  source: string,
  body: Buffer,
  limits: IngestLimits,
  o: { tokenHash?: string; chunks?: ChunkPlan } = {},
): Promise<IngestResult> {
  if (body.length > limits.maxBodyBytes) {
    throw new CollectorError('PAYLOAD_TOO_LARGE', `the body exceeds ${limits.maxBodyBytes} bytes`, { details: { limit: limits.maxBodyBytes } });
  }
  const n = countLines(body);
  if (n > limits.maxLines) {
    throw new CollectorError('PAYLOAD_TOO_LARGE', `the batch has ${n} lines; the limit is ${limits.maxLines}`, { details: { limit: limits.maxLines } });
  }
  for (let attempt = 0; attempt < STALE_RETRIES; attempt++) {
    const ctx = await contextFor(deps.sources, source, o.tokenHash);
    const chunks = deps.checker.checkChunks(body, ctx.keyring, ctx.requireSignatures, limits, o.chunks ?? ONE_CHUNK);
    const outcome = await deps.events.appendChunks(source, chunks, { version: ctx.version });
    if (outcome === STALE) {
      // Another process changed the token or the keys: check this batch again under the new ones.
      deps.sources.forget(source);
      continue;
    }
    if (!outcome) throw new CollectorError('UNKNOWN_SOURCE', `no source named ${source}`);
    return resultOf(outcome);
  }
  throw new CollectorError('UNAVAILABLE', `the credentials of source ${source} kept changing during the batch; retry`);
}

/**
 * The source's ingest context, checked against the token the request was authorised with: a
 * cached context may predate a rotation done by another process, so a mismatch reloads once;
 * a mismatch with the database's own hash is a token no longer valid (spec §18.3.7).
 */
async function contextFor(sources: SourceRegistry, source: string, tokenHash: string | undefined): Promise<IngestContext> {
  let ctx = await sources.ingestContext(source);
  if (ctx && tokenHash !== undefined && ctx.tokenHash !== tokenHash) {
    sources.forget(source);
    ctx = await sources.ingestContext(source);
    if (ctx && ctx.tokenHash !== tokenHash) throw new CollectorError('UNAUTHORIZED', 'a valid bearer token for this source is required');
  }
  if (!ctx) throw new CollectorError('UNKNOWN_SOURCE', `no source named ${source}`);
  return ctx;
}

function resultOf(outcome: AppendOutcome): IngestResult {
  const reply: IngestReply = {
    accepted: outcome.accepted,
    duplicates: outcome.duplicates,
    next: outcome.head === null ? 0 : outcome.head.seq + 1,
    head: outcome.head,
  };
  if (outcome.stop) {
    const s = outcome.stop;
    const status = s.code === 'SEQ_GAP' || s.code === 'FORK' ? 409 : 422;
    return { status, body: { ...reply, code: s.code, message: `line ${s.index + 1}: ${s.message}`, seq: s.seq, line: s.index + 1 }, ...(outcome.fork ? { fork: outcome.fork } : {}) };
  }
  if (outcome.failure) {
    const f = outcome.failure;
    return { status: 422, body: { ...reply, code: f.code, message: f.message, line: f.line, ...(f.seq === undefined ? {} : { seq: f.seq }) } };
  }
  return { status: 200, body: reply };
}
