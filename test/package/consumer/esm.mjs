// Run against the installed tarball: import, append, verify on worker threads.
import { Ledger, generateSigningKey, verifyLedger } from 'sealed-ledger';
import { mirrorPolicyDecisionTestAllow } from 'sealed-ledger/testing';

const dir = process.argv[2];
const key = generateSigningKey({ name: 'esm' });
const ledger = await Ledger.open({ dir, create: true, signer: key });
await ledger.appendBatch([{ kind: 'a', payload: 1 }, { kind: 'b', payload: 2 }]);
await ledger.append({ kind: 'c', payload: 3 }, { decision: mirrorPolicyDecisionTestAllow() });
await ledger.close();
const report = await verifyLedger({ dir });
console.log(JSON.stringify({ ok: report.ok, events: report.events, signed: report.signed }));
