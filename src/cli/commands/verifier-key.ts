/**
 * `sealed-ledger verifier-key <dir|keyfile>` (spec §12.3, §15.1): the C2SP verifier key strings
 * (`<name>+<hex key hash>+<base64(0x01 || key)>`) that checkpoint verifiers and witnesses pin.
 */
import fs from 'node:fs';
import { KeyError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { describeKey, isRetired, windowText } from '../key-output.js';
import { requireLedger } from '../ledger-folder.js';
import { Keyring, readSigningKeyFile } from '../../index.js';

export async function verifierKey(ctx: CliContext, target: string, o: { json?: boolean }): Promise<void> {
  let keys;
  if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
    const paths = requireLedger(target);
    if (!fs.existsSync(paths.keyring)) {
      throw new KeyError('UNKNOWN_KEY', `${target} has no keyring.json; add a key with: sealed-ledger keys add ${target} --key <file>`);
    }
    keys = Keyring.load(paths.keyring).list().map((e) => ({ ...describeKey(e), window: windowText(e), retired: isRetired(e) }));
  } else {
    keys = [{ ...describeKey(readSigningKeyFile(target)), window: 'active', retired: false }];
  }
  if (o.json) return ctx.out.json(keys);
  await ctx.out.write(keys.map((k) => k.verifierKey + '\n').join(''));
}
