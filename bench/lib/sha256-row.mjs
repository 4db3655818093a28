// Why src/crypto/hash.ts uses node:crypto: the hashes the ledger computes are short (Merkle
// nodes are 65 bytes, event bodies about 300), where per-call overhead decides.
import crypto from 'node:crypto';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { sha256 } from '../../dist/crypto/hash.js';
import { pair, rate } from './measure.mjs';

export async function sha256Row(ctx) {
  const inputs = Array.from({ length: 1024 }, (_, i) => crypto.randomBytes(32 + (i % 169)));
  const n = ctx.size.hashes;
  const loop = (h) => () =>
    rate(n, () => {
      for (let i = 0; i < n; i++) h(inputs[i & 1023]);
    });
  const r = await pair({ warmup: ctx.warmup, reps: ctx.reps, baseline: loop(nobleSha256), figure: loop(sha256) });
  // For comparison: the one-shot crypto.hash (Node >= 20.12) that skips the Hash object.
  const oneShot = await pair({ warmup: ctx.warmup, reps: ctx.reps, baseline: loop(nobleSha256), figure: loop((b) => crypto.hash('sha256', b, 'buffer')) });
  return {
    figure: r.figure, baseline: r.baseline, unit: 'hashes/s', baselineUnit: 'hashes/s', baselineLabel: '@noble/hashes sha256',
    target: { kind: 'ratio', min: 1, text: '>= 1x (justifies hash.ts)' }, samples: r,
    extra: { cryptoHashOneShotPerSecond: Math.round(oneShot.figure) },
  };
}
