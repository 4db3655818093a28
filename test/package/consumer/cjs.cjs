// require() of the ESM package (Node >= 20.19 loads ESM synchronously without top-level await).
const { Ledger, verifyLedger, SealedLedgerError } = require('sealed-ledger');
const { mirrorPolicyDecisionTestAllow } = require('sealed-ledger/testing');
const { version } = require('sealed-ledger/package.json');

(async () => {
  const dir = process.argv[2];
  const ledger = await Ledger.open({ dir, create: true });
  await ledger.append({ kind: 'cjs', payload: { ok: true } }, { decision: mirrorPolicyDecisionTestAllow() });
  await ledger.close();
  const report = await verifyLedger({ dir });
  let code;
  try {
    await Ledger.open({ dir: dir + '-missing' });
  } catch (e) {
    code = e instanceof SealedLedgerError ? e.code : String(e);
  }
  console.log(JSON.stringify({ ok: report.ok, events: report.events, version, code }));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
