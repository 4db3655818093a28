/**
 * One error base class with a stable, literal `code` (spec §9). Callers branch on `code`, never
 * on message text. "Malformed input" codes are kept apart from "verification failed" codes, and a
 * verification error carries what was expected and what was found.
 */
export type ErrorCode =
  // bad input: nothing was written
  | 'INVALID_EVENT'
  | 'INVALID_JSON'
  | 'INPUT_TOO_LARGE'
  | 'INVALID_ARGUMENT'
  | 'INVALID_KEY'
  | 'INVALID_KEYRING'
  | 'MALFORMED_LINE'
  // verification failed
  | 'SEAL_MISMATCH'
  | 'CHAIN_BROKEN'
  | 'SEQ_GAP'
  | 'INVALID_SIGNATURE'
  | 'UNKNOWN_KEY'
  | 'KEY_NOT_VALID'
  | 'SIGNATURE_REQUIRED'
  // policy gate
  | 'POLICY_REJECTED'
  | 'POLICY_QUARANTINED'
  | 'PARITY_RULE_MISSING'
  | 'PARITY_VIOLATION'
  // concurrency and idempotency
  | 'SEQ_CONFLICT'
  | 'IDEMPOTENCY_CONFLICT'
  | 'LOCK_TIMEOUT'
  // ledger state
  | 'LEDGER_NOT_FOUND'
  | 'LEDGER_EXISTS'
  | 'LEDGER_CLOSED'
  | 'LEDGER_READ_ONLY'
  | 'LEDGER_CORRUPT'
  | 'SQLITE_AHEAD'
  | 'MIRROR_CONFLICT'
  | 'NOT_IN_TRANSACTION'
  | 'IO_ERROR'
  // Merkle tree, proofs, checkpoints
  | 'INVALID_PROOF'
  | 'ROOT_MISMATCH'
  | 'INVALID_TREE_SIZE'
  | 'INVALID_CHECKPOINT'
  | 'CHECKPOINT_INCONSISTENT'
  // witness records (spec §20.10)
  | 'WITNESS_MISSING'
  | 'WITNESS_INVALID'
  | 'WITNESS_INCONSISTENT'
  // collector (spec §18.5)
  | 'FORK'
  | 'LIMIT_EXCEEDED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'UNKNOWN_SOURCE'
  | 'SOURCE_EXISTS'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'MALFORMED_BODY'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE';

export interface ErrorOptions {
  cause?: unknown;
  /** Where the problem is: a seq, a line number, a byte offset, a field. */
  details?: Record<string, unknown>;
}

export class SealedLedgerError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.details };
  }
}

/** A caller's input is not acceptable. Nothing was written. */
export class InvalidInputError extends SealedLedgerError {}

/** Bytes or objects failed a cryptographic or structural check. */
export class VerificationError extends SealedLedgerError {
  constructor(
    code: ErrorCode,
    message: string,
    options: ErrorOptions & { expected?: string; actual?: string } = {},
  ) {
    super(code, message, {
      ...options,
      details: {
        ...options.details,
        ...(options.expected === undefined ? {} : { expected: options.expected }),
        ...(options.actual === undefined ? {} : { actual: options.actual }),
      },
    });
  }
}

/** A key is malformed, unknown, or outside its validity window. */
export class KeyError extends SealedLedgerError {}

/** The policy gate refused the append. Nothing was written to the durable event set. */
export class PolicyError extends SealedLedgerError {}

/** Optimistic-concurrency, idempotency or lock conflicts. */
export class ConflictError extends SealedLedgerError {}

/** The ledger folder is missing, closed, or in a state that cannot be healed automatically. */
export class LedgerStateError extends SealedLedgerError {}

/** The collector refused a request or its store is unavailable (spec §18.5). */
export class CollectorError extends SealedLedgerError {}

/** Merkle proofs and checkpoints. */
export class ProofError extends VerificationError {}

export function isSealedLedgerError(e: unknown): e is SealedLedgerError {
  return e instanceof SealedLedgerError;
}
