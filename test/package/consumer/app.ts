// A consumer's TypeScript: checked with strict, nodenext and no skipLibCheck against the packed
// tarball (test/package/consumer.test.ts). Every public type it names must resolve.
import {
  Ledger,
  generateSigningKey,
  verifyLedger,
  type Inspection,
  type LedgerHead,
  type NoteSigner,
  type SqliteConnection,
  type StoredCheckpoint,
  type Watermark,
  mirrorSingleEventIntoSqlite,
} from 'sealed-ledger';
import { SimulatedCrash, mirrorPolicyDecisionTestAllow, type CrashHook } from 'sealed-ledger/testing';
// The collector entry type-checks without @types/pg and without esModuleInterop (ADR 0015).
import { createCollector, type Collector, type CollectorOptions } from 'sealed-ledger/collector';

export async function run(dir: string): Promise<LedgerHead> {
  const key = generateSigningKey({ name: 'consumer' });
  const ledger = await Ledger.open({ dir, create: true, signer: key });
  await ledger.append({ kind: 'x', payload: { n: 1 } }, { decision: mirrorPolicyDecisionTestAllow() });
  const signer: NoteSigner = key;
  await ledger.checkpoint(signer);
  const cps: StoredCheckpoint[] = ledger.checkpoints();
  const head = ledger.headInfo();
  const after: Watermark = ledger.lastReconcile.after;
  const inspection: Inspection | undefined = ledger.inspection;
  // Internals are not part of the published type.
  // @ts-expect-error head is internal
  void ledger.head;
  // @ts-expect-error crash() is internal
  ledger.crash('append.locked');
  // @ts-expect-error the SQLite projection is internal
  void ledger.projection;
  await ledger.close();
  const report = await verifyLedger({ dir });
  const hook: CrashHook = (point) => {
    if (point === 'jsonl.synced') throw new SimulatedCrash(point);
  };
  const use = (db: SqliteConnection) => mirrorSingleEventIntoSqlite(db, ledger.get(0)!);
  void [cps, after, inspection, report.ok, hook, use];
  return head;
}

export async function serve(db: string): Promise<number> {
  const options: CollectorOptions = { db, rateLimit: false };
  const c: Collector = await createCollector(options);
  const waiting: number | undefined = c.database.pool?.waitingCount;
  await c.close();
  return waiting ?? 0;
}
