import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import fs from 'node:fs';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateSigningKey } from '../../src/crypto/signing-key.js';
import { tempDir } from '../helpers.js';

describe('smoke', () => {
  const dirs: (() => void)[] = [];
  afterEach(() => dirs.splice(0).forEach((c) => c()));
  it('appends, groups, reopens', async () => {
    const t = tempDir(); dirs.push(t.cleanup);
    const dir = path.join(t.dir, 'l');
    const key = generateSigningKey();
    const ledger = await Ledger.open({ dir, create: true, signer: key });
    const e0 = await ledger.append({ kind: 'user.login', payload: { user: 'a' } });
    expect(e0.seq).toBe(0);
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => ledger.append({ kind: 'k', payload: i })));
    expect(many.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const b = await ledger.appendBatch([{ kind: 'b', payload: 1 }, { kind: 'b', payload: 2 }]);
    expect(b[1]!.seq).toBe(52);
    await ledger.close();
    const lines = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).toBe(53);
    const again = await Ledger.open({ dir });
    expect(again.headInfo().seq).toBe(52);
    expect(again.lastReconcile.replayed).toBe(0);
    await again.close();
  });
});
