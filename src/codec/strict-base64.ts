/**
 * Canonical standard base64 (RFC 4648 §4, with padding), as used by C2SP notes and checkpoints.
 * Node's decoder silently skips invalid characters and accepts missing padding; accepting only
 * the one canonical encoding of each byte string keeps signed text unambiguous.
 */

const BASE64_SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decoded bytes, or undefined if `text` is not the canonical base64 of any byte string. */
export function decodeBase64Strict(text: string): Buffer | undefined {
  if (!BASE64_SHAPE.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Rejects non-zero padding bits, which the shape check cannot see.
  return bytes.toString('base64') === text ? bytes : undefined;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
