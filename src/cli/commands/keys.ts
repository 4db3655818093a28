/**
 * `sealed-ledger keys list|add|retire` (spec §5.3, §15.1): the public keys a ledger accepts.
 * Retiring closes a key's window at the next seq and now, under the writer lock, so no append
 * can slip between reading the head and saving the keyring.
 */
import fs from 'node:fs';
import { InvalidInputError, KeyError } from '../../errors.js';
import { decodeBase64Strict } from '../../codec/strict-base64.js';
import type { CliContext } from '../context.js';
import { describeKey, isRetired, windowText } from '../key-output.js';
import { requireLedger } from '../ledger-folder.js';
import { writerOf } from '../../ledger/ledger.js';
import { keyIdFor, Keyring, Ledger, readSigningKeyFile } from '../../index.js';

function loadKeyring(path: string): Keyring {
  return fs.existsSync(path) ? Keyring.load(path) : new Keyring();
}

export async function listKeys(ctx: CliContext, dir: string, o: { json?: boolean }): Promise<void> {
  const ring = loadKeyring(requireLedger(dir).keyring);
  const keys = ring.list().map((e) => ({ ...e, ...describeKey(e), window: windowText(e), retired: isRetired(e) }));
  if (o.json) return ctx.out.json(keys);
  if (keys.length === 0) return ctx.out.say('no keys (add one with: sealed-ledger keys add)');
  for (const k of keys) await ctx.out.write(`${k.kid}  ${k.name}  ${k.window}\n  ${k.verifierKey}\n`);
}

export interface AddOptions {
  key?: string;
  publicKey?: string;
  name?: string;
  json?: boolean;
}

export async function addKey(ctx: CliContext, dir: string, o: AddOptions): Promise<void> {
  const paths = requireLedger(dir);
  let entry: { kid: string; name: string; publicKey: Uint8Array };
  if (o.key !== undefined) {
    if (o.publicKey !== undefined || o.name !== undefined) throw new InvalidInputError('INVALID_ARGUMENT', 'give --key, or --public-key with --name, not both');
    entry = readSigningKeyFile(o.key);
  } else if (o.publicKey !== undefined && o.name !== undefined) {
    const publicKey = decodeBase64Strict(o.publicKey);
    if (publicKey?.length !== 32) throw new KeyError('INVALID_KEY', '--public-key must be the canonical base64 of a 32-byte Ed25519 public key');
    entry = { kid: keyIdFor(publicKey), name: o.name, publicKey };
  } else {
    throw new InvalidInputError('INVALID_ARGUMENT', 'give --key <file>, or --public-key <base64> with --name <name>');
  }
  const ring = loadKeyring(paths.keyring);
  const existed = ring.has(entry.kid);
  const added = ring.add({ kid: entry.kid, name: entry.name, publicKey: entry.publicKey });
  if (!existed) ring.save(paths.keyring);
  const d = describeKey(added);
  if (o.json) return ctx.out.json({ ...d, added: !existed });
  await ctx.out.say(`${existed ? 'already in the keyring' : 'added'}: ${d.kid} (${d.name})`);
  await ctx.out.say(`verifier key ${d.verifierKey}`);
}

export async function retireKey(ctx: CliContext, dir: string, kid: string, o: { json?: boolean }): Promise<void> {
  const paths = requireLedger(dir);
  const ledger = await Ledger.open({ dir, lockTimeoutMs: ctx.lockTimeoutMs });
  let retired;
  try {
    // Under the writer lock, on a healed head (what heal caught up on is committed with it).
    retired = await writerOf(ledger).withLock(() => {
      const ring = loadKeyring(paths.keyring);
      const entry = ring.retire(kid, { seq: ledger.headInfo().seq + 1, at: new Date().toISOString() });
      ring.save(paths.keyring);
      return entry;
    });
  } finally {
    await ledger.close();
  }
  const d = { ...describeKey(retired), window: windowText(retired) };
  if (o.json) return ctx.out.json({ ...retired, ...d });
  await ctx.out.say(`retired ${d.kid} (${d.name}): ${d.window}`);
  await ctx.out.say(`events and checkpoints it signed before then still verify; processes that have the ledger open must reopen it to see this`);
}
