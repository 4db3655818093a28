import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import type { ConsistencyProofJson, InclusionProofJson } from '../../src/ledger/verifiable-log.js';
import { verifyCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { parseEventLine } from '../../src/format/event-line.js';
import { cli, ensureBuilt, expectOneErrorLine, lines } from './cli-harness.js';
import { type Fixture, jsonlLines, signedLedger } from './fixtures.js';

let f: Fixture;
beforeAll(async () => {
  ensureBuilt();
  f = await signedLedger(77);
});
afterAll(() => f?.cleanup());

const hex = (h: string) => Buffer.from(h, 'hex');

describe('checkpoint and verifier-key', () => {
  it('the printed checkpoint verifies with the printed verifier key', () => {
    const note = cli(['checkpoint', f.dir, '--key', f.keyPath]);
    expect(note.code).toBe(0);
    const keys = lines(cli(['verifier-key', f.dir]).stdout);
    const cp = verifyCheckpoint(note.stdout, keys, { origin: 'test.example/log' });
    expect(cp.size).toBe(77);
    expect(cp.signers.map((s) => s.name)).toEqual(['test-key']);
    // The key file gives the same verifier key as the keyring.
    expect(lines(cli(['verifier-key', f.keyPath]).stdout)).toEqual(keys);
    // A stored checkpoint is checked by verify.
    const v = cli(['verify', f.dir]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^checkpoints +\d+ checked, 0 failed$/m);
  });

  it('--json carries the parsed body and the note', () => {
    const r = JSON.parse(cli(['checkpoint', f.dir, '--key', f.keyPath, '--json']).stdout) as { origin: string; size: number; rootHash: string; note: string };
    expect(r).toMatchObject({ origin: 'test.example/log', size: 77 });
    expect(verifyCheckpoint(r.note, lines(cli(['verifier-key', f.dir]).stdout)).rootHash.toString('hex')).toBe(r.rootHash);
  });
});

describe('prove', () => {
  it('inclusion proofs round-trip through verifyInclusion, for the current and an older size', () => {
    for (const [seq, size] of [[0, undefined], [41, undefined], [76, undefined], [5, 6], [33, 64]] as const) {
      const args = ['prove', 'inclusion', f.dir, '--seq', String(seq), '--json', ...(size === undefined ? [] : ['--size', String(size)])];
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(0);
      const p = JSON.parse(r.stdout) as InclusionProofJson;
      expect(p.index).toBe(seq);
      expect(p.treeSize).toBe(size ?? 77);
      expect(p.leafHash).toBe(parseEventLine(jsonlLines(f.dir)[seq]!).event.hash);
      verifyInclusion(hex(p.leafHash), p.index, p.treeSize, p.proof.map(hex), hex(p.rootHash));
      // A flipped bit in the proof fails.
      if (p.proof.length > 0) {
        const bad = p.proof.map(hex);
        bad[0]![0]! ^= 1;
        expect(() => verifyInclusion(hex(p.leafHash), p.index, p.treeSize, bad, hex(p.rootHash))).toThrow();
      }
    }
  });

  it('consistency proofs round-trip through verifyConsistency', () => {
    const r = cli(['prove', 'consistency', f.dir, '--from', '13', '--json']);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as ConsistencyProofJson;
    expect([p.fromSize, p.toSize]).toEqual([13, 77]);
    verifyConsistency(p.fromSize, p.toSize, p.proof.map(hex), hex(p.fromRoot), hex(p.toRoot));
    const human = cli(['prove', 'consistency', f.dir, '--from', '13', '--to', '40']);
    expect(human.stdout).toMatch(/^from size +13$/m);
    expect(human.stdout).toMatch(/^to size +40$/m);
  });

  it('out-of-range seq or size is a usage error (64)', () => {
    const r = cli(['prove', 'inclusion', f.dir, '--seq', '77']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(expectOneErrorLine(r.stderr, 'INVALID_ARGUMENT')).toContain('seq must be in 0..76');
    const c = cli(['prove', 'consistency', f.dir, '--from', '78']);
    expect(c.code).toBe(EXIT.USAGE);
  });
});
