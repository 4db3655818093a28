/**
 * The one hashing module (spec §3.3). node:crypto is used because it measured faster than
 * @noble/hashes for the sizes we hash (`npm run bench`, row "sha256"); callers never pick.
 */
import { createHash, hash } from 'node:crypto';

export function sha256(...chunks: (Uint8Array | string)[]): Buffer {
  // The one-shot API skips the Hash object: about a third faster for event-sized inputs.
  if (chunks.length === 1) return hash('sha256', chunks[0]!, 'buffer');
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest();
}
