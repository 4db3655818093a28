/**
 * Checkpoints as signed notes (spec §12): the tlog-checkpoint body is the note text. The
 * signature is checked before the body is interpreted, as C2SP signed-note requires.
 */
import { ProofError } from '../errors.js';
import { formatCheckpoint, parseCheckpoint, type CheckpointBody } from './checkpoint.js';
import { signNote, verifyNote, type NoteSigner, type NoteSignerRef } from './signed-note.js';
import type { NoteVerifier } from './verifier-key.js';

export interface VerifiedCheckpoint extends CheckpointBody {
  /** Trusted keys whose signatures verified. */
  readonly signers: readonly NoteSignerRef[];
  /** The exact note text that was signed. */
  readonly text: string;
}

export interface VerifyCheckpointOptions {
  /** When given, the origin line must equal it exactly. */
  readonly origin?: string;
}

/** The signed note text of a checkpoint. */
export function signCheckpoint(body: CheckpointBody, signers: readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(body), signers);
}

/**
 * Verifies the note against trusted keys, then parses its text as a checkpoint. Throws
 * UNKNOWN_KEY / INVALID_SIGNATURE from the note, INVALID_CHECKPOINT for a bad body or origin.
 */
export function verifyCheckpoint(
  note: string | Uint8Array,
  verifiers: readonly (string | NoteVerifier)[],
  options: VerifyCheckpointOptions = {},
): VerifiedCheckpoint {
  const { text, verified } = verifyNote(note, verifiers);
  const body = parseCheckpoint(text);
  if (options.origin !== undefined && body.origin !== options.origin) {
    throw new ProofError('INVALID_CHECKPOINT', 'checkpoint is for another log', {
      expected: options.origin,
      actual: body.origin,
      details: { field: 'origin' },
    });
  }
  return { ...body, signers: verified, text };
}
