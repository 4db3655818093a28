/**
 * `sealed-ledger init <dir>` (spec §15.1): create a ledger folder, optionally with a signing key
 * whose public half goes into the keyring. A new key file is written outside the folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidInputError, LedgerStateError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { describeKey, keyLines } from '../key-output.js';
import { assertKeyOutsideLedger, isLedger } from '../ledger-folder.js';
import { readOrCreateMetadata } from '../../ledger/metadata.js';
import { NODE_FILE_IO } from '../../store/file-io.js';
import { ledgerPaths } from '../../store/layout.js';
import { generateSigningKey, Ledger, readSigningKeyFile, type SigningKey, writeSigningKeyFile } from '../../index.js';

export interface InitOptions {
  key?: string;
  newKey?: string;
  name?: string;
  origin?: string;
  requireSignatures?: boolean;
  json?: boolean;
}

function assertUsableFolder(dir: string): void {
  if (isLedger(dir)) {
    throw new LedgerStateError('LEDGER_EXISTS', `${path.resolve(dir)} is already a ledger; refusing to initialize it again`, { details: { dir } });
  }
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) throw new InvalidInputError('INVALID_ARGUMENT', `${dir} exists and is not a folder`);
  if (fs.readdirSync(dir).length > 0) {
    throw new InvalidInputError('INVALID_ARGUMENT', `${dir} exists and is not empty; a new ledger needs an empty or new folder`, { details: { dir } });
  }
}

export async function initLedger(ctx: CliContext, dir: string, o: InitOptions): Promise<void> {
  if (o.key !== undefined && o.newKey !== undefined) throw new InvalidInputError('INVALID_ARGUMENT', 'give --key or --new-key, not both');
  if (o.name !== undefined && o.newKey === undefined) throw new InvalidInputError('INVALID_ARGUMENT', '--name names a new key: use it with --new-key');
  assertUsableFolder(dir);
  let key: SigningKey | undefined;
  if (o.key !== undefined) key = readSigningKeyFile(o.key);
  if (o.newKey !== undefined) {
    assertKeyOutsideLedger(o.newKey, dir);
    key = generateSigningKey(o.name === undefined ? {} : { name: o.name });
    writeSigningKeyFile(key, o.newKey);
  }
  const ledger = await Ledger.open({
    dir, create: true, lockTimeoutMs: ctx.lockTimeoutMs, ...(o.origin === undefined ? {} : { origin: o.origin }), signer: key,
    requireSignatures: o.requireSignatures === true,
  });
  await ledger.close();
  const meta = readOrCreateMetadata(ledgerPaths(dir).metadata, undefined, NODE_FILE_IO, true);
  const origin = meta.origin;
  const signing = meta.signaturesRequiredFrom === undefined ? 'optional' : 'required';
  const abs = path.resolve(dir);
  const described = key ? describeKey(key) : undefined;
  const keyFile = o.newKey ?? o.key;
  if (o.json) {
    await ctx.out.json({ dir: abs, origin, signatures: signing, key: described ? { ...described, file: path.resolve(keyFile!) } : null });
    return;
  }
  await ctx.out.say(`created ledger ${abs}`);
  await ctx.out.say(`origin       ${origin}`);
  await ctx.out.say(`signatures   ${signing}${signing === 'required' ? ' (recorded in ledger.json; append needs --key)' : ''}`);
  if (described) {
    for (const line of keyLines(described)) await ctx.out.say(line);
    await ctx.out.say(`key file     ${path.resolve(keyFile!)}${o.newKey ? ' (new, mode 0600: keep it secret, outside the ledger folder)' : ''}`);
    await ctx.out.say(`next         sealed-ledger append ${dir} --key ${keyFile} --kind user.login --payload '{"user":"alice"}'`);
  }
}
