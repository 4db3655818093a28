/**
 * The collector service (spec §18, ADR 0015): a Fastify server over the collector store.
 * `createCollectorServer` opens (and migrates) the database, registers the routes and, when a
 * witness key is given, the witness (spec §19). `listen()` serves
 * on TCP (TLS when a certificate is given), `inject()` answers in process for tests, `close()`
 * stops taking requests, lets in-flight batches finish within a bound, then closes the pool.
 */
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify';
import { readSigningKeyFile, type SigningKey } from '../crypto/signing-key.js';
import { isSealedLedgerError } from '../errors.js';
import { cosignatureVerifierKeyString } from '../merkle/cosignature.js';
import { witnessRoutes } from '../witness/routes.js';
import { DEFAULT_LIMITS } from '../format/event.js';
import { lineLimits } from './batch-lines.js';
import { CheckPool } from './check-pool.js';
import { openCollectorDatabase, type CollectorDatabase } from './database.js';
import { EventStore } from './event-store.js';
import { httpStatusFor } from './http-status.js';
import type { IngestLimits } from './ingest.js';
import { createMetrics, type CollectorMetrics } from './metrics.js';
import { SourceRegistry } from './sources.js';
import { SourceRateLimiter, type RateLimit } from './rate-limit.js';
import { INGEST_ROUTE, registerIngestRoute } from './routes-ingest.js';
import { registerReadRoutes } from './routes-read.js';
import { registerStreamRoutes, StreamHub, type StreamOptions } from './routes-stream.js';
import { isDatabaseUnavailable } from './unavailable.js';
import { sharedChunks, ONE_CHUNK, type ChunkPlan } from './chunk-plan.js';
import { KyselyWitnessStore, type WitnessPluginOptions } from './witness-store.js';

export interface CollectorOptions {
  /** A SQLite file path, a `postgres://` URL, or a database opened with openCollectorDatabase. */
  db: string | CollectorDatabase;
  /** The witness's signing key (a key file path or a key). Without it no witness is served. */
  witnessKey?: string | SigningKey;
  /** pino options, `true` for info-level JSON logs on stdout, `false` (default) for none. */
  logger?: boolean | Record<string, unknown>;
  limits?: Partial<IngestLimits>;
  /** Per-source batch rate; `false` turns it off. Default 50 batches/s, burst 100. */
  rateLimit?: RateLimit | false;
  /** pg pool size (PostgreSQL). Default 10. */
  poolSize?: number;
  /** Batches allowed to wait for a pool connection before new ones get 429. Default 4 x pool. */
  maxPoolWaiting?: number;
  /** Node's request timeout: a client that does not finish sending in time gets 408. Default 30 s. */
  requestTimeoutMs?: number;
  /** How long close() lets in-flight requests finish. Default 10 s. */
  shutdownTimeoutMs?: number;
  /** Seconds in Retry-After of a 503. Default 2. */
  retryAfterSeconds?: number;
  /** Worker threads checking lines (seal, signature). Default: one per core up to 8; 0: inline. */
  verifyWorkers?: number;
  /** A bearer token that may read every source and list them (operators, dashboards). */
  adminToken?: string;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Event streams (spec §18.10): heartbeat, retry, page size, poll, per-connection buffer bound. */
  stream?: Partial<StreamOptions>;
  /**
   * How a batch is cut into checked chunks (spec §18.3.6). Default: sharedChunks() on PostgreSQL,
   * one chunk on SQLite. Only to compare plans in benchmarks.
   * @internal
   */
  ingestChunks?: ChunkPlan;
}

export interface Collector {
  readonly app: FastifyInstance;
  readonly database: CollectorDatabase;
  readonly sources: SourceRegistry;
  readonly events: EventStore;
  readonly metrics: CollectorMetrics;
  /** The open event streams (spec §18.10) and their counters. */
  readonly streams: StreamHub;
  /** True when the witness routes are registered. */
  readonly witness: boolean;
  /** The witness's C2SP cosignature/v1 verifier key, what `collector verify --witness-vkey` takes. */
  readonly witnessVerifierKey?: string;
  /** Ingest batches being processed now (graceful shutdown waits for them). */
  readonly inFlight: number;
  /** Starts serving; resolves to the URL (http[s]://host:port). */
  listen(options?: { host?: string; port?: number }): Promise<string>;
  inject(options: InjectOptions | string): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface ServerDeps {
  sources: SourceRegistry;
  checker: CheckPool;
  events: EventStore;
  metrics: CollectorMetrics;
  limits: IngestLimits;
  limiter: SourceRateLimiter;
  database: CollectorDatabase;
  maxPoolWaiting: number;
  retryAfterSeconds: number;
  adminToken?: string;
  streams: StreamHub;
  /** How an ingest batch is cut into checked chunks (spec §18.3.6). */
  chunks: ChunkPlan;
  state: { closing: boolean; inFlight: number };
}

export async function createCollectorServer(options: CollectorOptions): Promise<Collector> {
  const ownsDb = typeof options.db === 'string';
  let log: FastifyInstance['log'] | undefined;
  const database =
    typeof options.db === 'string'
      ? await openCollectorDatabase(options.db, {
          poolSize: options.poolSize,
          onPoolError: (e) => log?.warn({ err: e }, 'database connection lost'),
          // Every request that needs the store now fails (500, /readyz 503) until a restart.
          onDatabaseLost: (e) => log?.fatal({ err: e }, 'the SQLite thread died; the collector cannot read or write its store'),
        })
      : options.db;
  const witnessKey = typeof options.witnessKey === 'string' ? readSigningKeyFile(options.witnessKey) : options.witnessKey;
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const app: FastifyInstance = Fastify({
    logger: options.logger === true ? { level: 'info' } : (options.logger || false),
    requestTimeout,
    connectionTimeout: requestTimeout,
    keepAliveTimeout: 5_000,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
  }) as unknown as FastifyInstance;
  log = app.log;
  const limits: IngestLimits = {
    ...lineLimits(options.limits?.maxPayloadBytes ?? DEFAULT_LIMITS.maxPayloadBytes),
    maxLines: 1000,
    maxBodyBytes: 5 * 1000 * 1000,
    ...options.limits,
  };
  const metrics = createMetrics(database);
  const streams = new StreamHub(database, options.stream, (e) => log?.warn({ err: e }, 'event streams: a wake-up source failed (LISTEN connection lost, reconnecting; or the SQLite file watch, the poll remains)'));
  const deps: ServerDeps = {
    sources: new SourceRegistry(database),
    events: new EventStore(database, () => streams.signal.notify()),
    streams,
    checker: new CheckPool(options.verifyWorkers ?? CheckPool.defaultSize()),
    metrics,
    limits,
    limiter: new SourceRateLimiter(options.rateLimit === false ? undefined : options.rateLimit ?? { batchesPerSecond: 50, burst: 100 }),
    database,
    maxPoolWaiting: options.maxPoolWaiting ?? 4 * (options.poolSize ?? 10),
    retryAfterSeconds: options.retryAfterSeconds ?? 2,
    ...(options.adminToken ? { adminToken: options.adminToken } : {}),
    // On SQLite a batch is one chunk: its transaction holds the whole file's write lock, and
    // checking inside it would hold every other source and process off for that long.
    chunks: options.ingestChunks ?? (database.dialect === 'postgres' ? sharedChunks() : ONE_CHUNK),
    state: { closing: false, inFlight: 0 },
  };

  app.setErrorHandler(async (err: Error & { code?: string; statusCode?: number }, request, reply) => {
    let status: number;
    let code: string;
    if (isSealedLedgerError(err)) {
      status = httpStatusFor(err.code);
      code = err.code;
    } else if (isDatabaseUnavailable(err)) {
      status = 503;
      code = 'UNAVAILABLE';
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      code = 'PAYLOAD_TOO_LARGE';
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      status = 415;
      code = 'UNSUPPORTED_MEDIA_TYPE';
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      code = err.statusCode === 408 ? 'TIMEOUT' : 'INVALID_ARGUMENT';
    } else {
      status = 500;
      code = 'INTERNAL';
    }
    if (status >= 500) request.log.error({ err }, 'request failed');
    // A route that knows better (the rate limiter's wait) has set it already.
    if ((status === 503 || status === 429) && !reply.hasHeader('retry-after')) reply.header('retry-after', String(deps.retryAfterSeconds));
    // Refusals of ingest requests are counted by code; the source label only once authenticated,
    // so that random names in unauthenticated requests cannot grow the metric without bound.
    const authed = (request as { authenticatedSource?: string }).authenticatedSource;
    if (request.routeOptions?.url === INGEST_ROUTE) metrics.rejected.inc({ source: authed ?? '', code });
    const message = status === 500 ? 'internal error' : status === 503 && code === 'UNAVAILABLE' && !isSealedLedgerError(err) ? `the database is unavailable: ${err.message}` : err.message;
    // An authenticated shipper learns where the chain stands even when its request failed; not
    // on 503 or 429, when the database is down or its pool is the reason for the refusal.
    const source = authed;
    let position: { next: number | null; head: unknown } = { next: null, head: null };
    if (source !== undefined && status !== 503 && status !== 429) {
      const head = await deps.events.head(source).catch(() => undefined);
      if (head !== undefined) position = { next: head === null ? 0 : head.seq + 1, head };
    }
    return reply.code(status).type('application/json').send({ accepted: 0, duplicates: 0, ...position, code, message });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }));

  registerIngestRoute(app, deps);
  registerReadRoutes(app, deps);
  registerStreamRoutes(app, deps, streams);

  let witness = false;
  if (witnessKey) {
    const plugin = witnessRoutes;
    if (plugin) {
      const witnessOptions: WitnessPluginOptions = {
        store: new KyselyWitnessStore(database),
        witnessKey,
        cosignaturesIssued: metrics.cosignaturesIssued,
        onFork(source, evidence) {
          metrics.forks.inc({ source, kind: 'checkpoint' });
          app.log.error({ source, size: evidence.size, kind: evidence.kind }, `FORK: source ${source} signed a checkpoint that conflicts at size ${evidence.size}; evidence kept`);
        },
      };
      await app.register(plugin as never, witnessOptions as never);
      witness = true;
    }
  }
  await app.ready();

  let closed: Promise<void> | undefined;
  const shutdownTimeout = options.shutdownTimeoutMs ?? 10_000;
  return {
    app,
    database,
    sources: deps.sources,
    events: deps.events,
    metrics,
    streams,
    witness,
    ...(witness && witnessKey ? { witnessVerifierKey: cosignatureVerifierKeyString(witnessKey.name, witnessKey.publicKey) } : {}),
    get inFlight() {
      return deps.state.inFlight;
    },
    async listen(o = {}) {
      return app.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 0 });
    },
    inject: (o) => app.inject(o),
    close() {
      closed ??= (async () => {
        deps.state.closing = true;
        let timer: NodeJS.Timeout | undefined;
        const bound = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            app.log.warn(`shutdown: in-flight requests did not finish in ${shutdownTimeout} ms; closing their connections`);
            app.server.closeAllConnections?.();
            resolve();
          }, shutdownTimeout);
        });
        await Promise.race([app.close(), bound]);
        clearTimeout(timer);
        await deps.checker.close();
        if (ownsDb) await database.close();
      })();
      return closed;
    },
  };
}

