/**
 * Event signatures (spec §4): Ed25519 over eventSignatureMessage(hash), checked strictly
 * (spec §6) against a keyring that knows each key's validity window (spec §5.3).
 */
import { eventSignatureMessage } from '../crypto/domain.js';
import { VerificationError } from '../errors.js';
import { verifyEd25519 } from '../crypto/ed25519.js';
import type { Keyring } from '../crypto/keyring.js';
import type { EventHeader, EventSignature, SealedEvent } from './event.js';

/** Anything that can sign: a SigningKey, or a caller's HSM adapter. */
export interface EventSigner {
  readonly kid: string;
  sign(message: Uint8Array): Uint8Array;
}

/** Sign `event`'s hash. The hash is not recomputed here: seal first (spec §4.1). */
export function signatureFor(hash: Buffer, signer: EventSigner): EventSignature {
  return eventSignature(signer.kid, signer.sign(eventSignatureMessage(hash)));
}

/** The `sig` member for a 64-byte Ed25519 signature by `kid` (spec §4.1). */
export function eventSignature(kid: string, value: Uint8Array): EventSignature {
  if (value.length !== 64) throw new RangeError('an Ed25519 signature is 64 bytes');
  return { kid, alg: 'ed25519', value: Buffer.from(value.buffer, value.byteOffset, value.length).toString('base64') };
}

/** Returns a copy of `event` carrying `signer`'s signature (spec §4.1). */
export function signEvent(event: SealedEvent, signer: EventSigner): SealedEvent {
  return { ...event, sig: signatureFor(Buffer.from(event.hash, 'hex'), signer) };
}

/**
 * Throws unless `event.sig` is a valid strict Ed25519 signature by a key that `keys` holds and
 * that was valid at the event's seq and time (spec §4.2, §5.3). A raw 32-byte public key skips
 * the window check. Codes: SIGNATURE_REQUIRED, UNKNOWN_KEY, KEY_NOT_VALID, INVALID_SIGNATURE.
 * The seal itself is checked by verifyEventSeal, not here.
 */
export function verifyEventSignature(event: EventHeader, keys: Keyring | Uint8Array): void {
  const sig = event.sig;
  const where = { seq: event.seq, id: event.id };
  if (sig === undefined) {
    throw new VerificationError('SIGNATURE_REQUIRED', `event seq ${event.seq} is not signed`, { details: where });
  }
  const publicKey = keys instanceof Uint8Array ? keys : keys.publicKeyFor(sig.kid, { seq: event.seq, at: event.at });
  const signature = Buffer.from(sig.value, 'base64');
  const ok =
    sig.alg === 'ed25519' &&
    signature.length === 64 &&
    verifyEd25519(publicKey, eventSignatureMessage(Buffer.from(event.hash, 'hex')), signature);
  if (!ok) {
    throw new VerificationError('INVALID_SIGNATURE', `event seq ${event.seq}: signature by ${sig.kid} does not verify`, {
      details: { ...where, kid: sig.kid },
    });
  }
}
