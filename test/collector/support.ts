/**
 * Shared setup of the collector tests: the two backends every suite runs against, a host chain
 * that writes real signed events.jsonl lines, and a collector with one registered source.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { generateSigningKey, type SigningKey } from '../../src/crypto/signing-key.js';
import type { KeyringEntry } from '../../src/crypto/keyring.js';
import { GENESIS_PREV, type EventInput } from '../../src/format/event.js';
import { sealRecord, withSignature } from '../../src/format/seal.js';
import { signatureFor } from '../../src/format/signature.js';
import { verifierKeyString } from '../../src/merkle/verifier-key.js';
import { createCollectorServer, type Collector, type CollectorOptions } from '../../src/collector/server.js';
import { createDatabase } from '../support/postgres.js';

export const BACKENDS = ['sqlite', 'postgres'] as const;
export type Backend = (typeof BACKENDS)[number];

const cleanups: (() => void)[] = [];

/** A new empty database of `backend`: a SQLite file path or a PostgreSQL URL. */
export async function newDatabase(backend: Backend, prefix = 'collector'): Promise<string> {
  if (backend === 'postgres') return createDatabase(inject('pgUrl'), prefix);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-collector-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'collector.sqlite');
}

export function removeTempDirs(): void {
  for (const c of cleanups.splice(0)) c();
}

export function tempFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-collector-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function keyEntry(key: SigningKey, window: Partial<KeyringEntry> = {}): KeyringEntry {
  return { kid: key.kid, name: key.name, publicKey: key.publicKey, ...window };
}

/** A host's chain of events.jsonl lines, signed (or not) like the ledger writes them. */
export class HostChain {
  readonly lines: string[] = [];
  readonly hashes: string[] = [];
  constructor(readonly key: SigningKey | undefined = generateSigningKey({ name: 'host-key' })) {}

  get head(): { seq: number; hash: string } | null {
    return this.lines.length === 0 ? null : { seq: this.lines.length - 1, hash: this.hashes[this.hashes.length - 1]! };
  }

  /** Seals (and signs) the next event; returns its line without "\n". */
  next(input: Partial<EventInput> = {}, o: { signer?: SigningKey | null } = {}): string {
    const seq = this.lines.length;
    const rec = sealRecord(
      { kind: 'test.event', payload: { n: seq }, at: `2026-01-01T00:00:${String(seq % 60).padStart(2, '0')}Z`, id: `ev-${seq}-${Math.random().toString(36).slice(2, 10)}`, ...input },
      { seq, prev: seq === 0 ? GENESIS_PREV : this.hashes[seq - 1]! },
    );
    const signer = o.signer === undefined ? this.key : o.signer;
    const line = signer ? withSignature(rec, signatureFor(rec.hash, signer)).line : rec.line;
    this.lines.push(line);
    this.hashes.push(rec.event.hash);
    return line;
  }

  append(n: number): string[] {
    return Array.from({ length: n }, () => this.next());
  }

  body(from: number, to = this.lines.length): string {
    return this.lines.slice(from, to).map((l) => l + '\n').join('');
  }

  verifierKey(): string {
    return verifierKeyString(this.key!.name, this.key!.publicKey);
  }
}

export interface TestCollector {
  collector: Collector;
  db: string;
  token: string;
  host: HostChain;
  source: string;
  post(body: string | Buffer, o?: { token?: string | null; source?: string; headers?: Record<string, string> }): Promise<{ status: number; json: any; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startCollector(
  backend: Backend,
  o: { options?: Partial<CollectorOptions>; requireSignatures?: boolean; source?: string; db?: string } = {},
): Promise<TestCollector> {
  const db = o.db ?? (await newDatabase(backend));
  const collector = await createCollectorServer({ db, rateLimit: false, ...o.options });
  const host = new HostChain();
  const source = o.source ?? 'host-a';
  const { token } = await collector.sources.add({
    name: source,
    eventKeys: [keyEntry(host.key!)],
    checkpointKeys: [host.verifierKey()],
    origin: `example.com/${source}`,
    requireSignatures: o.requireSignatures ?? false,
  });
  return {
    collector,
    db,
    token,
    host,
    source,
    async post(body, p = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/x-ndjson', ...p.headers };
      const t = p.token === undefined ? token : p.token;
      if (t !== null) headers.authorization = `Bearer ${t}`;
      const res = await collector.inject({ method: 'POST', url: `/v1/sources/${p.source ?? source}/events`, headers, payload: body });
      let json: unknown;
      try {
        json = res.json();
      } catch {
        json = res.body;
      }
      return { status: res.statusCode, json, headers: res.headers };
    },
    close: () => collector.close(),
  };
}
