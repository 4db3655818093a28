/**
 * --witness-key of verify and ship: the witness's cosignature verifier keys (spec §19.5.4), each
 * given as a key or as a file of them, one a line.
 */
import fs from 'node:fs';
import { InvalidInputError } from '../../errors.js';
import { parseCosignatureVerifierKey } from '../../merkle/cosignature.js';

export function witnessVerifierKeys(values: readonly string[]): string[] {
  return values.flatMap((v) => {
    try {
      parseCosignatureVerifierKey(v);
      return [v];
    } catch {
      // not a key: a file of keys
    }
    let text: string;
    try {
      text = fs.readFileSync(v, 'utf8');
    } catch (e) {
      throw new InvalidInputError('INVALID_ARGUMENT', `--witness-key ${v}: not a witness verifier key, and not a readable file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    const keys = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    if (keys.length === 0) throw new InvalidInputError('INVALID_ARGUMENT', `--witness-key ${v}: the file holds no key`);
    for (const k of keys) parseCosignatureVerifierKey(k);
    return keys;
  });
}

