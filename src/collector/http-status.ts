/**
 * The collector's one table from error codes to HTTP statuses (spec §18.5). `satisfies` makes a
 * new code in src/errors.ts a compile error here until it has a status.
 */
import type { ErrorCode } from '../errors.js';

export const HTTP_STATUS_FOR_CODE = {
  // a line that is not a valid event: 422, the lines before it accepted
  INVALID_EVENT: 422,
  INVALID_JSON: 422,
  MALFORMED_LINE: 422,
  SEAL_MISMATCH: 422,
  CHAIN_BROKEN: 422,
  INVALID_SIGNATURE: 422,
  UNKNOWN_KEY: 422,
  KEY_NOT_VALID: 422,
  SIGNATURE_REQUIRED: 422,
  LIMIT_EXCEEDED: 422,
  IDEMPOTENCY_CONFLICT: 422,
  INVALID_KEY: 422,
  INVALID_KEYRING: 422,
  // the chain: where to resume, or evidence of a rewrite
  SEQ_GAP: 409,
  FORK: 409,
  SEQ_CONFLICT: 409,
  SOURCE_EXISTS: 409,
  // the request itself
  INVALID_ARGUMENT: 400,
  MALFORMED_BODY: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  UNKNOWN_SOURCE: 404,
  PAYLOAD_TOO_LARGE: 413,
  INPUT_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  LOCK_TIMEOUT: 503,
  // codes of the host-side ledger and of proofs: not produced by ingest; a bug if they surface
  POLICY_REJECTED: 500,
  POLICY_QUARANTINED: 500,
  PARITY_RULE_MISSING: 500,
  PARITY_VIOLATION: 500,
  LEDGER_NOT_FOUND: 500,
  LEDGER_EXISTS: 500,
  LEDGER_CLOSED: 500,
  LEDGER_READ_ONLY: 500,
  LEDGER_CORRUPT: 500,
  SQLITE_AHEAD: 500,
  MIRROR_CONFLICT: 500,
  NOT_IN_TRANSACTION: 500,
  IO_ERROR: 500,
  INVALID_PROOF: 422,
  ROOT_MISMATCH: 422,
  INVALID_TREE_SIZE: 422,
  INVALID_CHECKPOINT: 422,
  CHECKPOINT_INCONSISTENT: 409,
  WITNESS_MISSING: 422,
  WITNESS_INVALID: 422,
  WITNESS_INCONSISTENT: 409,
} as const satisfies Record<ErrorCode, number>;

export function httpStatusFor(code: string): number {
  return (HTTP_STATUS_FOR_CODE as Record<string, number>)[code] ?? 500;
}
