/**
 * `collector export` (spec §18.9): writes a source's stored lines as a ledger folder's
 * events.jsonl, byte for byte what the host wrote, plus its keyring.json, so a host whose disk
 * died is restored with `export` and `replay --rebuild`. The file is written to a temporary
 * name, fsynced and renamed, so an interrupted export leaves no half file under the real name.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Keyring } from '../crypto/keyring.js';
import { CollectorError, SealedLedgerError } from '../errors.js';
import type { CollectorDatabase } from './database.js';
import { EventStore } from './event-store.js';
import { SourceRegistry } from './sources.js';

export interface ExportReport {
  source: string;
  dir: string;
  events: number;
  bytes: number;
}

function ioError(what: string, p: string, e: unknown): SealedLedgerError {
  const code = (e as NodeJS.ErrnoException).code ?? String(e);
  return new SealedLedgerError('IO_ERROR', `cannot ${what} ${p}: ${code}`, { cause: e, details: { path: p } });
}

export async function exportSource(handle: CollectorDatabase, source: string, outDir: string): Promise<ExportReport> {
  const registry = new SourceRegistry(handle);
  const ctx = await registry.verificationContext(source);
  if (!ctx) throw new CollectorError('UNKNOWN_SOURCE', `no source named ${source}`);
  const dir = path.resolve(outDir);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw ioError('create', dir, e);
  }
  const target = path.join(dir, 'events.jsonl');
  if (fs.existsSync(target)) {
    throw new CollectorError('LEDGER_EXISTS', `${target} exists; export into an empty folder`, { details: { path: target } });
  }
  const tmp = path.join(dir, `.events.jsonl.export-${process.pid}`);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
  } catch (e) {
    throw ioError('create', tmp, e);
  }
  let events = 0;
  let bytes = 0;
  try {
    const chunk: Buffer[] = [];
    let chunkBytes = 0;
    const flush = () => {
      const b = Buffer.concat(chunk);
      for (let off = 0; off < b.length; ) off += fs.writeSync(fd, b, off);
      chunk.length = 0;
      chunkBytes = 0;
    };
    let expected = 0;
    for await (const { seq, line } of new EventStore(handle).lines(source)) {
      if (seq !== expected) throw new CollectorError('SEQ_GAP', `source ${source} has no event at seq ${expected}; run collector verify`, { details: { seq: expected } });
      chunk.push(line, NL);
      chunkBytes += line.length + 1;
      bytes += line.length + 1;
      events++;
      expected++;
      if (chunkBytes >= 1 << 20) flush();
    }
    flush();
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    if (e instanceof SealedLedgerError) throw e;
    throw ioError('write', tmp, e);
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, target);
    const keyring = new Keyring(ctx.keyring.list());
    if (keyring.size > 0) keyring.save(path.join(dir, 'keyring.json'));
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch (e) {
    if (e instanceof SealedLedgerError) throw e;
    throw ioError('write', target, e);
  }
  return { source, dir, events, bytes };
}

const NL = Buffer.from('\n');
