/**
 * Bearer-token checks for the HTTP routes (spec §18.2). Ingest accepts only the source's own
 * token; reads of a source accept its token or the operator's admin token.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { CollectorError } from '../errors.js';
import type { SourceRegistry } from './sources.js';
import { tokenHash } from './tokens.js';

export function bearerToken(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return undefined;
  const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(h);
  return m?.[1];
}

export function isAdmin(token: string | undefined, adminToken: string | undefined): boolean {
  if (token === undefined || adminToken === undefined) return false;
  return timingSafeEqual(Buffer.from(tokenHash(token), 'hex'), Buffer.from(tokenHash(adminToken), 'hex'));
}

const MESSAGES = {
  UNAUTHORIZED: 'a valid bearer token for this source is required',
  FORBIDDEN: 'this token belongs to another source',
  UNKNOWN_SOURCE: 'no such source',
} as const;

/** Throws 401/403/404 unless the request carries `source`'s token (or, when `allowAdmin`, the admin token). */
export async function authorize(request: FastifyRequest, sources: SourceRegistry, source: string, o: { adminToken?: string; allowAdmin: boolean }): Promise<void> {
  const token = bearerToken(request);
  if (o.allowAdmin && isAdmin(token, o.adminToken)) {
    if (!(await sources.exists(source))) throw new CollectorError('UNKNOWN_SOURCE', `${MESSAGES.UNKNOWN_SOURCE}: ${source.slice(0, 80)}`);
    return;
  }
  const r = await sources.authenticate(source, token);
  if (!r.ok) throw new CollectorError(r.code, r.code === 'UNKNOWN_SOURCE' ? `${MESSAGES.UNKNOWN_SOURCE}: ${source.slice(0, 80)}` : MESSAGES[r.code]);
  (request as { authenticatedSource?: string }).authenticatedSource = source;
}
