/**
 * `sealed-ledger collector …` (spec §15.1, §18.9): serve, sources, verify, export.
 */
import fs from 'node:fs';
import { openCollectorDatabase, type CollectorDatabase } from '../../collector/database.js';
import { exportSource } from '../../collector/export.js';
import { createCollectorServer } from '../../collector/server.js';
import { readSourceKeys } from '../../collector/source-keys-file.js';
import { SourceRegistry } from '../../collector/sources.js';
import { verifyCollectorStore } from '../../collector/verify-store.js';
import { readSigningKeyFile } from '../../crypto/signing-key.js';
import { InvalidInputError, SealedLedgerError } from '../../errors.js';
import { cosignatureVerifierKeyString, parseCosignatureVerifierKey } from '../../merkle/cosignature.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';

type Json = { json?: boolean };

async function withDb<T>(db: string, f: (h: CollectorDatabase) => Promise<T>): Promise<T> {
  const h = await openCollectorDatabase(db);
  try {
    return await f(h);
  } finally {
    await h.close();
  }
}

function readText(p: string, what: string): string {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch (e) {
    throw new SealedLedgerError('IO_ERROR', `cannot read ${what} ${p}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e, details: { path: p } });
  }
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidInputError('INVALID_ARGUMENT', `--listen must be <host>:<port>, e.g. 127.0.0.1:8080 or [::1]:8080, not ${listen}`);
  return { host: m[1] ?? m[2]!, port };
}

export interface ServeOptions {
  db?: string;
  listen: string;
  witnessKey?: string;
  tlsCert?: string;
  tlsKey?: string;
  adminTokenFile?: string;
  poolSize: number;
  rate: number;
  shutdownTimeout: number;
  logLevel: string;
}

export async function serve(ctx: CliContext, o: ServeOptions): Promise<void> {
  if (!o.db) throw new InvalidInputError('INVALID_ARGUMENT', '--db is required: a SQLite file or a postgres:// URL');
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new InvalidInputError('INVALID_ARGUMENT', '--tls-cert and --tls-key go together');
  const { host, port } = parseListen(o.listen);
  const collector = await createCollectorServer({
    db: o.db,
    ...(o.witnessKey ? { witnessKey: o.witnessKey } : {}),
    logger: { level: o.logLevel },
    poolSize: o.poolSize,
    rateLimit: o.rate === 0 ? false : { batchesPerSecond: o.rate, burst: o.rate * 2 },
    shutdownTimeoutMs: o.shutdownTimeout,
    ...(o.adminTokenFile ? { adminToken: readText(o.adminTokenFile, 'admin token file').trim() } : {}),
    ...(o.tlsCert && o.tlsKey ? { tls: { cert: fs.readFileSync(o.tlsCert), key: fs.readFileSync(o.tlsKey) } } : {}),
  });
  let url: string;
  try {
    url = await collector.listen({ host, port });
  } catch (e) {
    await collector.close();
    throw new SealedLedgerError('IO_ERROR', `cannot listen on ${o.listen}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e });
  }
  collector.app.log.info({ url, db: collector.database.location, witness: collector.witness, ...(collector.witnessVerifierKey ? { witnessVerifierKey: collector.witnessVerifierKey } : {}) }, 'collector listening');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      collector.app.log.info({ signal }, 'shutting down');
      collector.close().then(resolve, (e) => {
        collector.app.log.error({ err: e }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  ctx.exitCode = EXIT.OK;
}

export async function addSource(ctx: CliContext, name: string, o: Json & { db: string; keys?: string; origin?: string; requireSignatures?: boolean }): Promise<void> {
  const keys = o.keys ? readSourceKeys(o.keys) : undefined;
  const origin = o.origin ?? keys?.origin;
  const { token } = await withDb(o.db, (h) =>
    new SourceRegistry(h).add({
      name,
      ...(keys ? { eventKeys: keys.eventKeys, checkpointKeys: keys.checkpointKeys } : {}),
      ...(origin !== undefined ? { origin } : {}),
      requireSignatures: o.requireSignatures === true,
    }),
  );
  if (o.json) return ctx.out.json({ source: name, token, origin: origin ?? null, keys: keys?.eventKeys.length ?? 0 });
  await ctx.out.write(`${token}\n`);
  ctx.note(`source ${name} registered (${keys?.eventKeys.length ?? 0} key(s)${origin ? `, origin ${origin}` : ''}); the token above is shown only this once`);
}

export async function listSources(ctx: CliContext, o: Json & { db: string }): Promise<void> {
  const list = await withDb(o.db, (h) => new SourceRegistry(h).list());
  if (o.json) return ctx.out.json(list);
  for (const s of list) {
    await ctx.out.write(
      `${s.source}\tnext ${s.next}\tlast ${s.lastEventAt ?? '-'}\tcosigned ${s.cosigned ? s.cosigned.size : '-'}\tforks ${s.forks}\n`,
    );
  }
}

export async function showSource(ctx: CliContext, name: string, o: Json & { db: string }): Promise<void> {
  const d = await withDb(o.db, (h) => new SourceRegistry(h).details(name));
  if (o.json) return ctx.out.json(d);
  const lines = [
    `source       ${d.source}`,
    `head         ${d.head ? `seq ${d.head.seq} ${d.head.hash}` : 'empty'}`,
    `next         ${d.next}`,
    `last event   ${d.lastEventAt ?? '-'}`,
    `origin       ${d.origin ?? '-'}`,
    `signatures   ${d.requireSignatures ? 'required' : 'optional'}`,
    `cosigned     ${d.cosigned ? `size ${d.cosigned.size} root ${d.cosigned.root}` : '-'}`,
    `forks        ${d.forks}`,
    ...d.keys.map((k) => `key          ${k.kid} ${k.name}${k.retiredAtSeq !== undefined ? ` retired at seq ${k.retiredAtSeq}` : ''}`),
    ...d.checkpointKeys.map((k) => `checkpoint   ${k.verifierKey}${k.retiredAt ? ` (retired ${k.retiredAt})` : ''}`),
  ];
  await ctx.out.write(lines.join('\n') + '\n');
}

export async function rotateToken(ctx: CliContext, name: string, o: Json & { db: string }): Promise<void> {
  const { token } = await withDb(o.db, (h) => new SourceRegistry(h).rotateToken(name));
  if (o.json) return ctx.out.json({ source: name, token });
  await ctx.out.write(`${token}\n`);
  ctx.note(`source ${name} has a new token (shown only this once); the old one no longer works`);
}

export async function issueReadToken(ctx: CliContext, name: string, o: Json & { db: string }): Promise<void> {
  const { token } = await withDb(o.db, (h) => new SourceRegistry(h).issueReadToken(name));
  if (o.json) return ctx.out.json({ source: name, readToken: token });
  await ctx.out.write(`${token}\n`);
  ctx.note(`source ${name} has a new read token (shown only this once); a previous read token no longer works`);
}

export async function addSourceKey(ctx: CliContext, name: string, o: Json & { db: string; keys: string }): Promise<void> {
  const keys = readSourceKeys(o.keys);
  await withDb(o.db, (h) => new SourceRegistry(h).addKeys(name, keys));
  if (o.json) return ctx.out.json({ source: name, added: keys.eventKeys.map((k) => k.kid) });
  ctx.note(`source ${name}: ${keys.eventKeys.length} key(s) registered`);
}

export async function retireSourceKey(ctx: CliContext, name: string, kid: string, o: Json & { db: string; atSeq?: number; at?: string }): Promise<void> {
  const retired = await withDb(o.db, (h) =>
    new SourceRegistry(h).retireKey(name, kid, { ...(o.atSeq !== undefined ? { seq: o.atSeq } : {}), ...(o.at !== undefined ? { at: o.at } : {}) }),
  );
  if (o.json) return ctx.out.json({ source: name, kid, retiredAtSeq: retired.retiredAtSeq, validUntil: retired.validUntil });
  ctx.note(`source ${name}: key ${kid} retired at seq ${retired.retiredAtSeq} and ${retired.validUntil}`);
}

/** The witness's cosignature verifier key from --witness-vkey (a key or a file) or --witness-key (a signing key file). */
function witnessVerifierKeys(o: { witnessVkey?: string; witnessKey?: string }): string[] {
  if (o.witnessVkey !== undefined && o.witnessKey !== undefined) throw new InvalidInputError('INVALID_ARGUMENT', 'give --witness-vkey or --witness-key, not both');
  if (o.witnessKey !== undefined) {
    const k = readSigningKeyFile(o.witnessKey);
    return [cosignatureVerifierKeyString(k.name, k.publicKey)];
  }
  if (o.witnessVkey === undefined) return [];
  const v = o.witnessVkey.includes('+') ? o.witnessVkey : readText(o.witnessVkey, 'witness verifier key file').trim();
  parseCosignatureVerifierKey(v);
  return [v];
}

/** `--witness-log-head source=hash`, repeatable. */
function witnessLogHeads(values: readonly string[] | undefined): Record<string, string> | undefined {
  if (!values?.length) return undefined;
  const heads: Record<string, string> = {};
  for (const v of values) {
    const m = /^([^=]+)=([0-9a-f]{64})$/.exec(v);
    if (!m) throw new InvalidInputError('INVALID_ARGUMENT', `--witness-log-head must be <source>=<64 hex digits>, got ${JSON.stringify(v)}`);
    heads[m[1]!] = m[2]!;
  }
  return heads;
}

export async function verifyStore(ctx: CliContext, o: Json & { db: string; source?: string; witnessVkey?: string; witnessKey?: string; witnessLogHead?: string[] }): Promise<void> {
  const witnessKeys = witnessVerifierKeys(o);
  const knownWitnessLogHeads = witnessLogHeads(o.witnessLogHead);
  const report = await withDb(o.db, (h) => verifyCollectorStore(h, { ...(o.source !== undefined ? { source: o.source } : {}), witnessKeys, ...(knownWitnessLogHeads ? { knownWitnessLogHeads } : {}) }));
  if (o.json) await ctx.out.json(report);
  else {
    if (!report.cosignaturesChecked && report.sources.some((s) => s.cosignedSize !== null)) {
      ctx.note("the witness's cosignatures were not checked: give --witness-vkey or --witness-key");
    }
    for (const s of report.sources) {
      await ctx.out.say(`${s.source}: ${s.events} event(s), head ${s.head ? s.head.seq : '-'}, cosigned ${s.cosignedSize ?? '-'}, forks ${s.forks}${s.witnessLogHead ? `, witness log head ${s.witnessLogHead}` : ''}`);
    }
    for (const p of report.problems) await ctx.out.say(`  ${p.source}: ${p.code}: ${p.message}`);
    for (const f of report.forks) await ctx.out.say(`  ${f.source}: FORK (${f.kind}) at ${f.seq}: ${f.reason}`);
  }
  if (!report.ok) ctx.complain(`TAMPERED: ${report.problems.length} problem(s), ${report.forks.length} fork(s) recorded`);
  ctx.exitCode = report.ok ? EXIT.OK : EXIT.TAMPERED;
}

export async function exportCommand(ctx: CliContext, o: Json & { db: string; source: string; out: string }): Promise<void> {
  const r = await withDb(o.db, (h) => exportSource(h, o.source, o.out));
  if (o.json) return ctx.out.json(r);
  await ctx.out.say(`exported ${r.events} event(s) (${r.bytes} bytes) of ${r.source} to ${r.dir}/events.jsonl; restore with: sealed-ledger replay --rebuild ${r.dir}`);
}
