/**
 * A writer process for the kill harness (fuzz/lib/kill-harness.mjs). It opens a ledger folder
 * with the built package (dist/) and appends until it is done or SIGKILLed. Every acknowledged
 * event is reported on stdout as soon as its promise resolves, with a synchronous write, so the
 * parent knows which events must survive the kill:
 *
 *   READY <pid> <head seq>          the open (and its reconcile) finished
 *   ACK <seq> <id> <hash>           an append resolved
 *   DONE                            all appends resolved and the ledger closed
 *   ERR <code> <message>            an append or the open failed
 *
 * Usage: node fuzz/kill/writer.mjs '<json>' with { dir, writer, mode: single | batch | concurrent,
 * count, batch, concurrency, pad, seed (hex), keyName, worker?, maxLagEvents?, dist?, mutant? }
 * (worker: the projection on a worker thread, spec §13.9). Mutants (to prove the harness
 * can fail): "early-ack" reports each event before appending it; "sqlite-first" puts a row into
 * ledger.db that events.jsonl lacks, then idles until killed.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { loadDistLibrary } from '../lib/library.mjs';

const cfg = JSON.parse(process.argv[2]);
const started = performance.now();
const say = (line) => fs.writeSync(1, `${line}\n`);

function fail(e) {
  // The cause's origin, for the report: which statement failed.
  const where = e?.cause?.stack?.split('\n').slice(1, 4).map((l) => l.trim()).join(' < ') ?? '';
  const ms = (performance.now() - started).toFixed(0);
  say(`ERR ${e?.code ?? e?.name ?? 'Error'} ${String(e?.message ?? e).replace(/\n/g, ' ')}${where ? ` [cause: ${e.cause.code ?? ''} ${where}]` : ''} (after ${ms} ms)`);
  process.exit(2);
}

let lib;
try {
  lib = await loadDistLibrary(cfg.dist);
} catch (e) {
  // dist/ missing or rebuilt under the run: not the ledger's fault, but the run is void.
  say(`ERR IMPORT ${String(e?.message ?? e).replace(/\n/g, ' ')}`);
  process.exit(3);
}

try {
  const key = lib.signingKeyFromSeed(Buffer.from(cfg.seed, 'hex'), cfg.keyName);
  const projectionWorker = cfg.worker ? { maxLagEvents: cfg.maxLagEvents ?? 10_000, maxLagMs: 20 } : false;
  const ledger = await lib.Ledger.open({ dir: cfg.dir, signer: key, lockTimeoutMs: 60_000, projectionWorker });
  say(`READY ${process.pid} ${ledger.headInfo().seq}`);
  if (cfg.mutant === 'sqlite-first') {
    const db = new Database(path.join(cfg.dir, 'ledger.db'));
    const seq = ledger.headInfo().seq + 1;
    db.prepare('INSERT INTO events (seq, id, at, kind, actor, hash, kid, line, offset) VALUES (?, ?, ?, ?, NULL, ?, NULL, ?, ?)')
      .run(seq, `${cfg.writer}-ghost`, '2026-01-01T00:00:00Z', 'ghost', 'f'.repeat(64), '{"ghost":true}', 0);
    db.close();
    setInterval(() => undefined, 1000); // wait for the kill
  } else {
    const ack = (ev) => say(`ACK ${ev.seq} ${ev.id} ${ev.hash}`);
    const input = (i) => ({ kind: 'kill.test', id: `${cfg.writer}-${i}`, actor: cfg.writer, payload: { i, pad: 'x'.repeat(cfg.pad ?? 0) } });
    const early = (i) => cfg.mutant === 'early-ack' && say(`ACK ? ${cfg.writer}-${i} ?`);
    let i = 0;
    while (i < cfg.count) {
      if (cfg.mode === 'single') {
        early(i);
        ack(await ledger.append(input(i++)));
      } else if (cfg.mode === 'batch') {
        const inputs = [];
        for (let k = 0; k < cfg.batch && i < cfg.count; k++) {
          early(i);
          inputs.push(input(i++));
        }
        (await ledger.appendBatch(inputs)).forEach(ack);
      } else {
        const pending = [];
        for (let k = 0; k < cfg.concurrency && i < cfg.count; k++) {
          early(i);
          pending.push(ledger.append(input(i++)).then(ack));
        }
        await Promise.all(pending);
      }
    }
    await ledger.close();
    say('DONE');
  }
} catch (e) {
  fail(e);
}
