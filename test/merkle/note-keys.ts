/** Ed25519 note signers for tests, built on node:crypto directly (independent of src/crypto). */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import type { NoteSigner } from '../../src/merkle/signed-note.js';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function signerFromSeed(name: string, seed: Uint8Array): NoteSigner {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(12);
  return { name, publicKey, sign: (message) => sign(null, message, privateKey) };
}

export function randomSigner(name: string): NoteSigner {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(16);
  return signerFromSeed(name, seed);
}

/** A golang.org/x/mod/sumdb/note signer key: PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>. */
export function signerFromGoKey(skey: string): NoteSigner {
  const parts = skey.split('+');
  const name = parts[2]!;
  const key = Buffer.from(parts.slice(4).join('+'), 'base64');
  if (parts[0] !== 'PRIVATE' || parts[1] !== 'KEY' || key[0] !== 1 || key.length !== 33) throw new Error('bad signer key');
  return signerFromSeed(name, key.subarray(1));
}
