/**
 * The shipper's options and their defaults (spec §20.7), validated once at start: a bad option
 * is an InvalidInputError before anything runs.
 */
import fs from 'node:fs';
import { InvalidInputError } from '../errors.js';
import type { Ledger } from '../ledger/ledger.js';
import { parseCosignatureVerifierKey } from '../merkle/cosignature.js';
import type { NoteSigner } from '../merkle/signed-note.js';
import { type BackoffOptions, DEFAULT_BACKOFF } from './backoff.js';
import type { ShipError } from './status.js';

export interface ShipLogRecord {
  level: 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: unknown;
}

export interface ShipperOptions {
  /** A ledger folder to read (the sidecar form), or … */
  dir?: string;
  /** … an open Ledger: the shipper wakes on its commits and `ledger.close()` drains it. */
  ledger?: Ledger;
  /** Collector base URL, e.g. https://collector.example:8443 */
  url: string;
  /** The source name registered at the collector. */
  source: string;
  /** Bearer token, or … */
  token?: string;
  /** … a file holding it (re-read after 401/403, so a rotated token is picked up without a restart). */
  tokenFile?: string;
  /** PEM CA for the collector's certificate. */
  ca?: string | Buffer;
  /** Lines per batch (default 1,000, the collector's default limit). */
  maxBatchLines?: number;
  /** Bytes per batch (default 1 MiB; one longer line goes alone). */
  maxBatchBytes?: number;
  /** Backoff for network errors and 5xx (default 1 s .. 5 min, full jitter). */
  backoff?: Partial<BackoffOptions>;
  /** Retry interval while halted on a 422, FORK or protocol error (default 60 s). */
  haltedRetryMs?: number;
  /** Retry interval while halted on 401/403/404, re-reading the token file (default 30 s). */
  authRetryMs?: number;
  /** HTTP connect/headers/body timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** Sidecar: poll interval beside fs.watch (default 500 ms). */
  pollMs?: number;
  /** Sidecar: how long complete lines past ledger.db's watermark wait before they count as durable (default 1 s). */
  settleMs?: number;
  /** Status file for `ship --status` and monitoring; false for none. Default: <dir>/ship-<source>.status.json. */
  cursorFile?: string | false;
  /** Default drain bound of stop() and ledger.close() (default 5 s). */
  drainMs?: number;
  /**
   * Sign checkpoints with this key and have the collector's witness cosign them (spec §20.10):
   * every `checkpointEveryEvents` events or `checkpointEveryMs`, cosignatures kept in
   * <dir>/witness.jsonl. In process the key must be in the ledger's keyring; at the collector it
   * must be a checkpoint key of the source, whose origin is the ledger's.
   */
  checkpointKey?: NoteSigner & { kid?: string };
  /**
   * The witness's cosignature verifier keys (spec §19.5.4), as `verify --witness-key` takes them.
   * With them, a cosignature that none of them verifies is never stored: the witness halts as
   * WITNESS_UNTRUSTED (spec §20.10). Without them, whatever the collector's witness returns is
   * stored and only a verifier with the key can tell.
   */
  witnessKeys?: readonly string[];
  /** Shipped events between checkpoints (default 10,000). */
  checkpointEveryEvents?: number;
  /** Longest time between checkpoints while events are shipped (default 60 s). */
  checkpointEveryMs?: number;
  /** One record per state change (and per 422 retry, at error). */
  log?: (record: ShipLogRecord) => void;
  /** @internal tests: clock and jitter source. */
  now?: () => number;
  random?: () => number;
}

export interface ResolvedOptions {
  url: string;
  source: string;
  maxBatchLines: number;
  maxBatchBytes: number;
  backoff: BackoffOptions;
  haltedRetryMs: number;
  authRetryMs: number;
  requestTimeoutMs: number;
  pollMs: number;
  settleMs: number;
  drainMs: number;
  checkpointEveryEvents: number;
  checkpointEveryMs: number;
}

export function resolveOptions(o: ShipperOptions): ResolvedOptions {
  if (!o || typeof o !== 'object') throw new InvalidInputError('INVALID_ARGUMENT', 'startShipper needs options');
  if ((o.dir === undefined) === (o.ledger === undefined)) throw new InvalidInputError('INVALID_ARGUMENT', 'give exactly one of dir and ledger');
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw new InvalidInputError('INVALID_ARGUMENT', `url is not a URL: ${String(o.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidInputError('INVALID_ARGUMENT', `url must be http: or https:, not ${url.protocol}`);
  if (typeof o.source !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(o.source)) {
    throw new InvalidInputError('INVALID_ARGUMENT', 'source must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  }
  if (o.checkpointKey !== undefined) {
    const k = o.checkpointKey as Partial<NoteSigner> | null;
    if (!k || typeof k.name !== 'string' || !(k.publicKey instanceof Uint8Array) || typeof k.sign !== 'function') {
      throw new InvalidInputError('INVALID_ARGUMENT', 'checkpointKey must be a signing key (name, publicKey, sign)');
    }
  }
  if (o.witnessKeys !== undefined) {
    if (!Array.isArray(o.witnessKeys) || o.witnessKeys.length === 0) throw new InvalidInputError('INVALID_ARGUMENT', 'witnessKeys must be a non-empty array of witness verifier keys');
    if (o.checkpointKey === undefined) throw new InvalidInputError('INVALID_ARGUMENT', 'witnessKeys needs checkpointKey: without checkpoints nothing is cosigned');
    for (const k of o.witnessKeys) {
      try {
        parseCosignatureVerifierKey(k);
      } catch (e) {
        throw new InvalidInputError('INVALID_ARGUMENT', `witnessKeys: ${String(k).slice(0, 120)} is not a witness verifier key: ${(e as Error).message}`);
      }
    }
  }
  if ((o.token === undefined) === (o.tokenFile === undefined)) throw new InvalidInputError('INVALID_ARGUMENT', 'give exactly one of token and tokenFile');
  const positive = (name: string, v: number | undefined, dflt: number, min = 1): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new InvalidInputError('INVALID_ARGUMENT', `${name} must be a number >= ${min}`);
    return v;
  };
  const backoff = {
    minMs: positive('backoff.minMs', o.backoff?.minMs, DEFAULT_BACKOFF.minMs),
    maxMs: positive('backoff.maxMs', o.backoff?.maxMs, DEFAULT_BACKOFF.maxMs),
  };
  if (backoff.maxMs < backoff.minMs) throw new InvalidInputError('INVALID_ARGUMENT', 'backoff.maxMs must be >= backoff.minMs');
  return {
    url: o.url,
    source: o.source,
    maxBatchLines: Math.floor(positive('maxBatchLines', o.maxBatchLines, 1000)),
    maxBatchBytes: Math.floor(positive('maxBatchBytes', o.maxBatchBytes, 1 << 20)),
    backoff,
    haltedRetryMs: positive('haltedRetryMs', o.haltedRetryMs, 60_000),
    authRetryMs: positive('authRetryMs', o.authRetryMs, 30_000),
    requestTimeoutMs: positive('requestTimeoutMs', o.requestTimeoutMs, 30_000),
    pollMs: positive('pollMs', o.pollMs, 500),
    settleMs: positive('settleMs', o.settleMs, 1_000, 0),
    drainMs: positive('drainMs', o.drainMs, 5_000, 0),
    checkpointEveryEvents: Math.floor(positive('checkpointEveryEvents', o.checkpointEveryEvents, 10_000)),
    checkpointEveryMs: positive('checkpointEveryMs', o.checkpointEveryMs, 60_000),
  };
}

/** The token, from the option or its file (trimmed: files end in a newline). */
export function readToken(o: Pick<ShipperOptions, 'token' | 'tokenFile'>): string {
  if (o.token !== undefined) return o.token;
  let text: string;
  try {
    text = fs.readFileSync(o.tokenFile!, 'utf8');
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code ?? 'EIO';
    throw new InvalidInputError('INVALID_ARGUMENT', `${o.tokenFile}: cannot read the token file: ${errno}`, { cause: e, details: { path: o.tokenFile, errno } });
  }
  const token = text.trim();
  if (!token || /\s/.test(token)) throw new InvalidInputError('INVALID_ARGUMENT', `${o.tokenFile}: the token file must hold one token`, { details: { path: o.tokenFile } });
  return token;
}

export function shipError(fields: Omit<ShipError, 'at'>, now: number): ShipError {
  return { ...fields, at: new Date(now).toISOString() };
}
