/**
 * Key names (spec §5.4). They appear in C2SP signed-note signature lines, so they follow that
 * format's rule (non-empty, no Unicode spaces, no '+') plus what a note line cannot carry:
 * no control or format characters and no lone surrogates.
 */

/** Longest accepted name, in UTF-8 bytes. */
export const KEY_NAME_MAX_BYTES = 256;

// White_Space is Unicode's list of spaces; Cc/Cf are control and invisible format characters;
// Cs catches lone surrogates, which have no UTF-8 encoding.
const FORBIDDEN = /[\p{White_Space}\p{Cc}\p{Cf}\p{Cs}+]/u;

/** Why `name` is not an acceptable key name, or undefined when it is. */
export function keyNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  if (name.length === 0) return 'must not be empty';
  if (Buffer.byteLength(name, 'utf8') > KEY_NAME_MAX_BYTES) return `must be at most ${KEY_NAME_MAX_BYTES} UTF-8 bytes`;
  if (FORBIDDEN.test(name)) return "must not contain spaces, '+', control or format characters, or lone surrogates";
  return undefined;
}
