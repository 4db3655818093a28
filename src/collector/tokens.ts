/**
 * Source bearer tokens (spec §18.2): 256 random bits, shown once; the store keeps only SHA-256
 * of the token, so a copy of the database does not let anyone ship as a source.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'slc_';
const TOKEN_PATTERN = /^slc_[A-Za-z0-9_-]{43}$/;

export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Hash of a presented token; malformed tokens hash too, so they simply match nothing. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}
