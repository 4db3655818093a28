// A real collector (SQLite, in this process) serving the witness, and a host ledger registered
// with it: the setup of the shipper's witness tests (spec §20.10).
import fs from 'node:fs';
import path from 'node:path';
import { createCollectorServer, type Collector } from '../../src/collector/server.js';
import { generateSigningKey, type SigningKey } from '../../src/crypto/signing-key.js';
import { parseEventLine } from '../../src/format/event-line.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { cosignatureVerifierKeyString } from '../../src/merkle/cosignature.js';
import { rootFromLeaves } from '../../src/merkle/root.js';
import { verifierKeyString } from '../../src/merkle/verifier-key.js';
import { tempDir } from '../helpers.js';
import { onCleanup } from './ship-helpers.js';

export interface Setup {
  dir: string;
  key: SigningKey;
  witnessKey: SigningKey;
  witnessVkey: string;
  collector: Collector;
  url: string;
  token: string;
  db: string;
}

export async function setup(o: { register?: boolean; db?: string } = {}): Promise<Setup> {
  const t = tempDir('sealed-ledger-witness-ship-');
  onCleanup(t.cleanup);
  const dir = path.join(t.dir, 'ledger');
  const key = generateSigningKey({ name: 'host-a-key' });
  const ledger = await Ledger.open({ dir, create: true, signer: key, origin: 'example.com/host-a' });
  await ledger.close();
  const witnessKey = generateSigningKey({ name: 'witness.example/w1' });
  const db = o.db ?? path.join(t.dir, 'collector.sqlite');
  const collector = await createCollectorServer({ db, rateLimit: false, witnessKey });
  onCleanup(() => collector.close());
  const { token } = await collector.sources.add({
    name: 'host-a',
    eventKeys: [{ kid: key.kid, name: key.name, publicKey: key.publicKey }],
    checkpointKeys: o.register === false ? [] : [verifierKeyString(key.name, key.publicKey)],
    origin: 'example.com/host-a',
  });
  const url = await collector.listen();
  return { dir, key, witnessKey, witnessVkey: cosignatureVerifierKeyString(witnessKey.name, witnessKey.publicKey), collector, url, token, db };
}

export function leavesRoot(dir: string, size: number): string {
  const lines = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').slice(0, size);
  return rootFromLeaves(lines.map((l) => parseEventLine(l).hash)).toString('hex');
}

/** Cut events.jsonl to its first `events` lines; ledger.db (which would remember) goes too. */
export function truncateTo(dir: string, events: number): void {
  const file = path.join(dir, 'events.jsonl');
  const lines = fs.readFileSync(file, 'utf8').split('\n').slice(0, events);
  fs.writeFileSync(file, lines.map((l) => l + '\n').join(''));
  fs.rmSync(path.join(dir, 'ledger.db'));
  for (const f of ['ledger.db-wal', 'ledger.db-shm', 'checkpoints.jsonl']) fs.rmSync(path.join(dir, f), { force: true });
}
