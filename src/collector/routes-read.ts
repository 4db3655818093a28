/**
 * Reads and operations (spec §18.7): sources and their heads, stored lines as streamed JSONL,
 * liveness, readiness and Prometheus metrics.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { CollectorError } from '../errors.js';
import { authorize, bearerToken, isAdmin } from './auth.js';
import { knownMigrations, MIGRATION_TABLE } from './migrations.js';
import { followSource, isFollow } from './routes-stream.js';
import type { ServerDeps } from './server.js';
import { sourceLines } from './stream-pages.js';
import { SOURCE_NAME_SCHEMA_PATTERN } from './source-name.js';

const MAX_READ_LIMIT = 1_000_000;
const sourceParams = {
  type: 'object',
  properties: { source: { type: 'string', maxLength: 63 } },
  required: ['source'],
} as const;

export function registerReadRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { sources, database } = deps;

  // The fleet listing names every host and where its chain stands: only the operator's admin
  // token may read it, and with no admin token configured nobody may (spec §18.7.1).
  app.get('/v1/sources', async (request) => {
    const token = bearerToken(request);
    if (deps.adminToken === undefined) {
      throw new CollectorError('FORBIDDEN', 'listing sources is disabled: the collector has no admin token (--admin-token-file)');
    }
    if (!isAdmin(token, deps.adminToken)) {
      if (token === undefined) throw new CollectorError('UNAUTHORIZED', 'listing sources requires the admin token');
      throw new CollectorError('FORBIDDEN', 'listing sources requires the admin token; this token is not it');
    }
    return { sources: await sources.list() };
  });

  app.get<{ Params: { source: string } }>('/v1/sources/:source', { schema: { params: sourceParams } }, async (request) => {
    await authorize(request, sources, request.params.source, { adminToken: deps.adminToken, allowAdmin: true });
    return sources.summary(request.params.source);
  });

  app.get<{ Params: { source: string }; Querystring: { from?: number; limit?: number; follow?: string } }>(
    '/v1/sources/:source/events',
    {
      schema: {
        params: sourceParams,
        querystring: {
          type: 'object',
          properties: {
            from: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            limit: { type: 'integer', minimum: 1, maximum: MAX_READ_LIMIT },
            follow: { type: 'string', enum: ['0', '1', 'false', 'true'] },
          },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const { source } = request.params;
      await authorize(request, sources, source, { adminToken: deps.adminToken, allowAdmin: true });
      if (isFollow(request.query.follow)) return followSource(deps.streams, request, reply, source, request.query.from);
      const lines = sourceLines(database, source, request.query.from ?? 0, request.query.limit ?? 10_000);
      // Each stored line followed by "\n": exactly the host's events.jsonl bytes for that range.
      const stream = Readable.from(
        (async function* () {
          for await (const { line } of lines) yield Buffer.concat([line, NL]);
        })(),
      );
      return reply.type('application/x-ndjson').send(stream);
    },
  );

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    try {
      const applied = await sql<{ name: string }>`SELECT name FROM ${sql.table(MIGRATION_TABLE)}`.execute(database.db);
      const have = new Set(applied.rows.map((r) => r.name));
      const missing = knownMigrations(database.dialect).filter((m) => !have.has(m));
      if (missing.length > 0) return reply.code(503).send({ status: 'not ready', reason: `migrations not applied: ${missing.join(', ')}` });
      return { status: 'ready', database: database.dialect, migrations: have.size };
    } catch (e) {
      reply.header('retry-after', String(deps.retryAfterSeconds));
      return reply.code(503).send({ status: 'not ready', reason: `database unreachable: ${(e as Error).message}` });
    }
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
}

const NL = Buffer.from('\n');
