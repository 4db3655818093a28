/**
 * How a key is shown (spec §5, §12.3): kid, name, public key and the C2SP verifier key string
 * that checkpoint verifiers pin. Never the seed.
 */
import { encodeBase64 } from '../codec/strict-base64.js';
import { type KeyringEntry, verifierKeyString } from '../index.js';

export interface KeyDescription {
  kid: string;
  name: string;
  publicKey: string;
  verifierKey: string;
}

export function describeKey(key: { kid: string; name: string; publicKey: Uint8Array }): KeyDescription {
  return { kid: key.kid, name: key.name, publicKey: encodeBase64(key.publicKey), verifierKey: verifierKeyString(key.name, key.publicKey) };
}

export function keyLines(k: KeyDescription): string[] {
  return [`kid          ${k.kid}`, `name         ${k.name}`, `public key   ${k.publicKey}`, `verifier key ${k.verifierKey}`];
}

/** A keyring entry's validity window in words. */
export function windowText(e: KeyringEntry): string {
  const parts: string[] = [];
  if (e.validFromSeq !== undefined) parts.push(`from seq ${e.validFromSeq}`);
  if (e.validFrom !== undefined) parts.push(`from ${e.validFrom}`);
  if (e.retiredAtSeq !== undefined) parts.push(`retired at seq ${e.retiredAtSeq}`);
  if (e.validUntil !== undefined) parts.push(`until ${e.validUntil}`);
  return parts.length === 0 ? 'active' : parts.join(', ');
}

export function isRetired(e: KeyringEntry): boolean {
  return e.retiredAtSeq !== undefined || e.validUntil !== undefined;
}
