/**
 * Source names (spec §18.2): they appear in URLs, metrics labels, logs and file names, so only a
 * small safe alphabet is allowed, checked before any database lookup.
 */
import { InvalidInputError } from '../errors.js';

export const SOURCE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** The same pattern as a JSON-schema string, for Fastify's route validation. */
export const SOURCE_NAME_SCHEMA_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}$';

export function isSourceName(name: unknown): name is string {
  return typeof name === 'string' && SOURCE_NAME_PATTERN.test(name);
}

export function assertSourceName(name: unknown): asserts name is string {
  if (!isSourceName(name)) {
    throw new InvalidInputError('INVALID_ARGUMENT', `source name ${JSON.stringify(String(name).slice(0, 80))} is not allowed: use 1-63 characters a-z 0-9 . _ -, starting with a letter or digit`, {
      details: { field: 'source' },
    });
  }
}
