/**
 * `POST /v1/sources/{source}/events` (spec §18.3): authentication, content type and encoding are
 * checked before the body is read, so a client without a token cannot make the collector read
 * or decompress 5 MB; then the batch goes through ingestBatch.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CollectorError } from '../errors.js';
import { authorize, bearerToken } from './auth.js';
import { decodeBody, ingestBatch } from './ingest.js';
import type { ServerDeps } from './server.js';
import { tokenHash } from './tokens.js';

const NDJSON = 'application/x-ndjson';

export const INGEST_ROUTE = '/v1/sources/:source/events';

function mediaType(request: FastifyRequest): string | undefined {
  return request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
}

export function registerIngestRoute(app: FastifyInstance, deps: ServerDeps): void {
  const { limits, metrics } = deps;
  app.addContentTypeParser(NDJSON, { parseAs: 'buffer', bodyLimit: limits.maxBodyBytes }, (_req, body, done) => done(null, body));

  app.post<{ Params: { source: string } }>(INGEST_ROUTE, {
    bodyLimit: limits.maxBodyBytes,
    async onRequest(request, reply) {
      const { source } = request.params;
      // Before anything that needs a connection: authenticating would itself wait in the pool's
      // queue, so a saturated pool is refused at once, not after a wait (spec §18.5).
      const pool = deps.database.pool;
      if (pool !== undefined && pool.waitingCount >= deps.maxPoolWaiting) {
        reply.header('retry-after', String(deps.retryAfterSeconds));
        throw new CollectorError('RATE_LIMITED', `the database pool is saturated (${pool.totalCount} connections busy, ${pool.waitingCount} requests waiting)`);
      }
      await authorize(request, deps.sources, source, { allowAdmin: false });
      if (mediaType(request) !== NDJSON) {
        throw new CollectorError('UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${NDJSON}`);
      }
      const enc = request.headers['content-encoding']?.trim().toLowerCase();
      if (enc !== undefined && enc !== 'gzip' && enc !== 'identity') {
        throw new CollectorError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${enc.slice(0, 40)} is not supported (use gzip or none)`);
      }
      if (deps.state.closing) throw new CollectorError('UNAVAILABLE', 'the collector is shutting down');
      const wait = deps.limiter.take(source);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw new CollectorError('RATE_LIMITED', `source ${source} is over its batch rate`);
      }
    },
  }, async (request, reply) => {
    const { source } = request.params;
    const started = performance.now();
    deps.state.inFlight++;
    try {
      const raw = request.body as Buffer | undefined;
      const enc = request.headers['content-encoding']?.trim().toLowerCase();
      const body = await decodeBody(raw ?? Buffer.alloc(0), enc === 'gzip' ? 'gzip' : undefined, limits.maxBodyBytes);
      const token = bearerToken(request);
      const result = await ingestBatch(deps, source, body, limits, {
        ...(token === undefined ? {} : { tokenHash: tokenHash(token) }),
        chunks: deps.chunks,
      });
      const b = result.body;
      if (b.accepted > 0) metrics.accepted.inc({ source }, b.accepted);
      if (b.duplicates > 0) metrics.duplicates.inc({ source }, b.duplicates);
      if (b.code !== undefined) metrics.rejected.inc({ source, code: b.code });
      if (result.fork) {
        metrics.forks.inc({ source, kind: 'event' });
        request.log.error(
          { source, seq: result.fork.seq, stored: result.fork.stored.toString('utf8'), offered: result.fork.offered.toString('utf8') },
          `FORK: source ${source} sent a different event at stored seq ${result.fork.seq}; evidence kept`,
        );
      } else if (result.status !== 200) {
        request.log.warn({ source, code: b.code, seq: b.seq }, b.message);
      }
      metrics.batchSeconds.observe({ outcome: String(result.status) }, (performance.now() - started) / 1000);
      return reply.code(result.status).send(b);
    } catch (e) {
      metrics.batchSeconds.observe({ outcome: 'error' }, (performance.now() - started) / 1000);
      throw e;
    } finally {
      deps.state.inFlight--;
    }
  });
}
