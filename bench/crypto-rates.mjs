// Sign / verify / seal rates on one core, medians of 5 runs: npm run build && node bench/crypto-rates.mjs
import { eventSignatureMessage, sealEvent, signEvent, generateSigningKey, verifyEd25519, verifyEventSeal, GENESIS_PREV } from '../dist/index.js';
import { verifyEd25519Portable } from '../dist/testing.js';

const key = generateSigningKey();
const med = (a) => a.sort((x, y) => x - y)[a.length >> 1];
function rate(n, f) { const r = []; for (let k = 0; k < 5; k++) { const t = performance.now(); for (let i = 0; i < n; i++) f(i); r.push(n / ((performance.now() - t) / 1000)); } return Math.round(med(r)); }
const ev = sealEvent({ kind: 'bench.event', actor: 'svc:bench', payload: { i: 1, note: 'some payload text' } }, { seq: 0, prev: GENESIS_PREV });
const msg = eventSignatureMessage(Buffer.from(ev.hash, 'hex'));
const sig = key.sign(msg);
console.log('seal (validate+canonicalize+hash) /s', rate(20000, (i) => sealEvent({ kind: 'bench.event', actor: 'svc:bench', payload: { i, note: 'some payload text' } }, { seq: i, prev: GENESIS_PREV })));
console.log('verifyEventSeal /s', rate(20000, () => verifyEventSeal(ev)));
console.log('sign (SigningKey) /s', rate(5000, () => key.sign(msg)));
console.log('signEvent /s', rate(5000, () => signEvent(ev, key)));
console.log('verifyEd25519 (native, strict) /s', rate(3000, () => verifyEd25519(key.publicKey, msg, sig)));
console.log('verifyEd25519Portable (noble, strict) /s', rate(200, () => verifyEd25519Portable(key.publicKey, msg, sig)));
