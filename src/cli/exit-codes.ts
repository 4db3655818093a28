/**
 * The CLI's exit codes (spec §15.3): the one table that maps verdicts and error codes to process
 * exit statuses. Usage and I/O codes follow BSD sysexits.h so that cron, CI and shell scripts can
 * tell "fix the command line" from "the ledger is damaged" from "try again later".
 */
import type { ErrorCode } from '../errors.js';
import { isSealedLedgerError } from '../errors.js';

export const EXIT = {
  /** Everything checked holds. */
  OK: 0,
  /** Drift that reconcile heals: events missing from ledger.db and/or a torn last line. */
  DRIFT: 1,
  /** Tampering or corruption: a seal, chain, signature or checkpoint fails, or the stores disagree. */
  TAMPERED: 2,
  /** EX_USAGE: bad command line (unknown option, missing argument, out-of-range value). */
  USAGE: 64,
  /** EX_DATAERR: bad input data (malformed JSONL on stdin, an invalid event, key or keyring). */
  DATAERR: 65,
  /** EX_NOINPUT: the ledger folder or a named input file does not exist or is not a ledger. */
  NOINPUT: 66,
  /** EX_SOFTWARE: an internal error (a bug: please report it, with --debug output). */
  SOFTWARE: 70,
  /** EX_CANTCREAT: refusing to create over something that exists (init on a ledger). */
  CANTCREAT: 73,
  /** EX_IOERR: reading or writing a file failed. */
  IOERR: 74,
  /** EX_TEMPFAIL: another writer held the lock too long, or the head moved; retry. */
  TEMPFAIL: 75,
} as const;

export type ExitName = keyof typeof EXIT;
export type ExitCode = (typeof EXIT)[ExitName];

/**
 * Library error code -> exit status. `satisfies Record<ErrorCode, ...>` makes a new code in
 * src/errors.ts a compile error here until it is given an exit status.
 */
export const EXIT_FOR_ERROR_CODE = {
  // bad input: nothing was written
  INVALID_EVENT: EXIT.DATAERR,
  INVALID_JSON: EXIT.DATAERR,
  INPUT_TOO_LARGE: EXIT.DATAERR,
  INVALID_ARGUMENT: EXIT.USAGE,
  INVALID_KEY: EXIT.DATAERR,
  INVALID_KEYRING: EXIT.DATAERR,
  MALFORMED_LINE: EXIT.DATAERR,
  // verification failures raised while reading stored data mean the data is damaged
  SEAL_MISMATCH: EXIT.TAMPERED,
  CHAIN_BROKEN: EXIT.TAMPERED,
  SEQ_GAP: EXIT.TAMPERED,
  INVALID_SIGNATURE: EXIT.TAMPERED,
  // key errors reach the CLI from a key the caller chose (append --key, checkpoint --key)
  UNKNOWN_KEY: EXIT.DATAERR,
  KEY_NOT_VALID: EXIT.DATAERR,
  // only raised for a stored unsigned event under a signing policy (append without a key is a usage error)
  SIGNATURE_REQUIRED: EXIT.TAMPERED,
  // policy gate
  POLICY_REJECTED: EXIT.DATAERR,
  POLICY_QUARANTINED: EXIT.DATAERR,
  PARITY_RULE_MISSING: EXIT.SOFTWARE,
  PARITY_VIOLATION: EXIT.TAMPERED,
  // concurrency and idempotency
  SEQ_CONFLICT: EXIT.TEMPFAIL,
  IDEMPOTENCY_CONFLICT: EXIT.DATAERR,
  LOCK_TIMEOUT: EXIT.TEMPFAIL,
  // ledger state
  LEDGER_NOT_FOUND: EXIT.NOINPUT,
  LEDGER_EXISTS: EXIT.CANTCREAT,
  LEDGER_CLOSED: EXIT.SOFTWARE,
  LEDGER_READ_ONLY: EXIT.IOERR,
  LEDGER_CORRUPT: EXIT.TAMPERED,
  SQLITE_AHEAD: EXIT.TAMPERED,
  MIRROR_CONFLICT: EXIT.TAMPERED,
  NOT_IN_TRANSACTION: EXIT.SOFTWARE,
  IO_ERROR: EXIT.IOERR,
  // Merkle tree, proofs, checkpoints
  INVALID_PROOF: EXIT.TAMPERED,
  ROOT_MISMATCH: EXIT.TAMPERED,
  INVALID_TREE_SIZE: EXIT.USAGE,
  INVALID_CHECKPOINT: EXIT.TAMPERED,
  CHECKPOINT_INCONSISTENT: EXIT.TAMPERED,
  WITNESS_MISSING: EXIT.TAMPERED,
  WITNESS_INVALID: EXIT.TAMPERED,
  WITNESS_INCONSISTENT: EXIT.TAMPERED,
  // collector (spec §18.5)
  FORK: EXIT.TAMPERED,
  LIMIT_EXCEEDED: EXIT.DATAERR,
  UNAUTHORIZED: EXIT.USAGE,
  FORBIDDEN: EXIT.USAGE,
  UNKNOWN_SOURCE: EXIT.NOINPUT,
  SOURCE_EXISTS: EXIT.CANTCREAT,
  PAYLOAD_TOO_LARGE: EXIT.DATAERR,
  UNSUPPORTED_MEDIA_TYPE: EXIT.DATAERR,
  MALFORMED_BODY: EXIT.DATAERR,
  RATE_LIMITED: EXIT.TEMPFAIL,
  UNAVAILABLE: EXIT.TEMPFAIL,
} as const satisfies Record<ErrorCode, ExitCode>;

/** Codes the CLI prints that are not library error codes. */
export const CLI_CODES = {
  /** A command-line parsing error (commander). */
  USAGE: EXIT.USAGE,
  /** verify/doctor/replay found healable drift. */
  DRIFT: EXIT.DRIFT,
  /** verify/doctor/replay found tampering or corruption. */
  TAMPERED: EXIT.TAMPERED,
  /** Anything that is not a SealedLedgerError. */
  INTERNAL: EXIT.SOFTWARE,
} as const;

/** The code printed in `sealed-ledger: <code>: <message>` for `error`. */
export function errorCodeOf(error: unknown): string {
  return isSealedLedgerError(error) ? error.code : 'INTERNAL';
}

/**
 * The exit status for an error. IO_ERROR is refined by its cause: a named file that does not
 * exist is EX_NOINPUT, like a missing ledger folder.
 */
export function exitCodeFor(error: unknown): ExitCode {
  if (!isSealedLedgerError(error)) return EXIT.SOFTWARE;
  if (error.code === 'IO_ERROR' && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return EXIT.NOINPUT;
  return EXIT_FOR_ERROR_CODE[error.code] ?? EXIT.SOFTWARE;
}
