/**
 * The collector's event streams (spec §18.10, ADR 0020): `GET /v1/sources/{source}/events?follow=1`
 * (id = seq, data = the stored line) and `GET /v1/events?follow=1` (id = ingest sequence, data =
 * `{"source","seq","line"}`), as text/event-stream. Each stream reads the store by cursor
 * (rows after the last id sent), page by page, and sleeps until the change signal wakes it or a
 * heartbeat is due; a wake it misses is caught by the next one or the safety-net poll.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CollectorError } from '../errors.js';
import { bearerToken, isAdmin } from './auth.js';
import { ChangeSignal } from './change-signal.js';
import type { CollectorDatabase } from './database.js';
import type { ServerDeps } from './server.js';
import { SseWriter, type SseLimits } from './sse-writer.js';
import { fleetPage, sourcePage, type Page } from './stream-pages.js';

export interface StreamOptions extends SseLimits {
  /** Comment heartbeat interval. Default 15 s (below the 30 s socket idle timeout of proxies). */
  heartbeatMs: number;
  /** The `retry` field: how long a client waits before reconnecting. Default 2,000 ms. */
  retryMs: number;
  /** Rows per store read. Default 500. */
  pageSize: number;
  /**
   * Line bytes per store read. Default 4 MiB; a page holds one line when that line alone is
   * longer. With `pageSize` rows of up to 1 MiB each (§3.1.1), a page bounded in rows alone
   * could hold hundreds of MiB.
   */
  pageBytes: number;
  /** Safety-net poll of the store. Default 2,000 ms. */
  pollMs: number;
  /** Store reads of all streams at once; the rest queue here, not in the ingest pool. Default 4. */
  concurrentReads: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = { heartbeatMs: 15_000, retryMs: 2_000, pageSize: 500, pageBytes: 4 << 20, pollMs: 2_000, concurrentReads: 4, maxBufferBytes: 1 << 20, stallMs: 30_000 };

type Row = { id: number; data: string };
type Fetch = (after: number, maxRows: number, maxBytes: number) => Promise<Page<Row>>;

/** Open streams and their wake signal; closed (streams told to reconnect) when the server closes. */
export class StreamHub {
  readonly signal: ChangeSignal;
  readonly options: StreamOptions;
  readonly #open = new Set<SseWriter>();
  #reading = 0;
  readonly #readQueue: (() => void)[] = [];
  /**
   * Events written to streams, streams cut off for not reading (with the last reason), and the
   * most line bytes one store read returned.
   */
  readonly stats = { sent: 0, cutOff: 0, lastCutOff: '', largestPageBytes: 0 };

  constructor(readonly database: CollectorDatabase, options: Partial<StreamOptions> = {}, onError?: (e: Error) => void) {
    this.options = { ...DEFAULT_STREAM_OPTIONS, ...options };
    this.signal = new ChangeSignal(database, { pollMs: this.options.pollMs, ...(onError ? { onError } : {}) });
  }

  get size(): number {
    return this.#open.size;
  }

  /** Sends rows after `cursor` until the client goes away or the stream is cut off. */
  async run(writer: SseWriter, fetch: Fetch, cursor: number, log: FastifyRequest['log']): Promise<void> {
    const { pageSize, pageBytes, heartbeatMs } = this.options;
    this.#open.add(writer);
    let dirty = true;
    let wake: (() => void) | undefined;
    const unsubscribe = this.signal.subscribe(() => {
      dirty = true;
      wake?.();
    });
    writer.onClose(() => {
      this.#open.delete(writer);
      unsubscribe();
      wake?.();
    });
    try {
      while (!writer.closed) {
        if (!dirty) {
          const woke = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), heartbeatMs);
            wake = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          wake = undefined;
          if (!woke) {
            writer.comment('heartbeat');
            if (!(await writer.ready())) break;
            continue;
          }
          if (writer.closed) return;
        }
        dirty = false;
        for (;;) {
          const page = await this.#read(() => fetch(cursor, pageSize, pageBytes));
          if (page.bytes > this.stats.largestPageBytes) this.stats.largestPageBytes = page.bytes;
          // Waiting for the socket after every event keeps a connection's queue at about the
          // socket's high-water mark plus one line, however far behind the client is.
          for (const r of page.rows) {
            if (!(await writer.ready())) return;
            writer.event(r.id, r.data);
            cursor = r.id;
            this.stats.sent++;
          }
          if (!page.more) break;
        }
      }
    } catch (e) {
      log.warn({ err: e }, 'event stream: store read failed; the client is told to reconnect');
      writer.end('closing: the collector cannot read its store now; reconnect to resume');
    } finally {
      unsubscribe();
      if (writer.reason?.startsWith('closing: the client')) {
        this.stats.cutOff++;
        this.stats.lastCutOff = writer.reason;
        log.warn({ reason: writer.reason, cursor }, 'event stream cut off: the client does not read');
      }
    }
  }

  // A wake reaches every stream at once; without a bound, 100 streams would queue 100 reads in
  // the pool that ingest uses, and ingest would be refused as saturated.
  async #read<T>(f: () => Promise<T>): Promise<T> {
    if (this.#reading >= this.options.concurrentReads) await new Promise<void>((r) => this.#readQueue.push(r));
    else this.#reading++;
    try {
      return await f();
    } finally {
      const next = this.#readQueue.shift();
      if (next) next();
      else this.#reading--;
    }
  }

  async close(): Promise<void> {
    for (const w of [...this.#open]) w.end('closing: the collector is shutting down; reconnect to resume');
    await this.signal.close();
  }
}

/** The cursor a stream starts after: Last-Event-ID wins, then `from` (inclusive), else `initial`. */
function startCursor(request: FastifyRequest, from: number | undefined, initial: number): number {
  const h = request.headers['last-event-id'];
  if (typeof h === 'string' && h.trim() !== '') {
    if (!/^\d{1,15}$/.test(h.trim())) throw new CollectorError('INVALID_ARGUMENT', 'Last-Event-ID must be a non-negative integer (an id this stream sent)');
    return Number(h.trim());
  }
  return from === undefined ? initial : from - 1;
}

export function isFollow(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 'true';
}

/** The SSE half of `GET /v1/sources/{source}/events`; the route authorizes before calling. */
export async function followSource(hub: StreamHub, request: FastifyRequest, reply: FastifyReply, source: string, from: number | undefined): Promise<void> {
  const cursor = startCursor(request, from, -1);
  reply.hijack();
  const writer = new SseWriter(reply.raw, hub.options, hub.options.retryMs);
  const fetch: Fetch = async (after, maxRows, maxBytes) => {
    const page = await sourcePage(hub.database, source, after, maxRows, maxBytes);
    return { ...page, rows: page.rows.map((r) => ({ id: r.seq, data: r.line.toString('utf8') })) };
  };
  await hub.run(writer, fetch, cursor, request.log);
}

export function registerStreamRoutes(app: FastifyInstance, deps: ServerDeps, hub: StreamHub): void {
  app.addHook('preClose', async () => {
    await hub.close();
  });
  app.get<{ Querystring: { follow?: string; from?: number } }>(
    '/v1/events',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { follow: { type: 'string', enum: ['1', 'true'] }, from: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
          required: ['follow'],
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      if (!isAdmin(bearerToken(request), deps.adminToken)) throw new CollectorError('UNAUTHORIZED', 'the fleet-wide stream requires the admin token');
      const cursor = startCursor(request, request.query.from, 0);
      reply.hijack();
      const writer = new SseWriter(reply.raw, hub.options, hub.options.retryMs);
      const fetch: Fetch = async (after, maxRows, maxBytes) => {
        const page = await fleetPage(hub.database, after, maxRows, maxBytes);
        return { ...page, rows: page.rows.map((r) => ({ id: r.ingest, data: `{"source":${JSON.stringify(r.source)},"seq":${r.seq},"line":${JSON.stringify(r.line.toString('utf8'))}}` })) };
      };
      await hub.run(writer, fetch, cursor, request.log);
    },
  );
}
