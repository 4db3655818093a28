/**
 * Real collector processes for the fault tests: `sealed-ledger collector` started from dist/,
 * its URL read from its first log line, and a shipping client that behaves like a shipper
 * (resume from `next`, back off on 429/503, count what it saw).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, ensureBuilt } from '../cli/cli-harness.js';

export interface CollectorProcess {
  child: ChildProcess;
  url: string;
  logs: () => string;
  /** Resolves with the exit code/signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function spawnCollector(db: string, extra: string[] = []): Promise<CollectorProcess> {
  ensureBuilt();
  const child = spawn(process.execPath, [BIN, 'collector', '--db', db, '--listen', '127.0.0.1:0', '--rate', '0', '--log-level', 'info', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collectorListening(child);
}

/** Captures a spawned collector's output and waits for the URL in its first log line. */
export async function collectorListening(child: ChildProcess): Promise<CollectorProcess> {
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start in 30 s:\n${out}`)), 30_000);
    const check = () => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`collector exited before listening:\n${out}`));
    });
  });
  return { child, url, logs: () => out, exited };
}

export interface ShipStats {
  accepted: number;
  duplicates: number;
  statuses: Record<string, number>;
}

export async function post(url: string, source: string, token: string, body: string): Promise<{ status: number; json: any; retryAfter: string | null }> {
  const res = await fetch(`${url}/v1/sources/${source}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
    body,
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, retryAfter: res.headers.get('retry-after') };
}

/**
 * Ships `lines` (without "\n") from seq `from` until the collector holds them all, as a shipper
 * does: resume at `next`, wait and retry on 429/503 and on network errors.
 */
export async function shipAll(
  target: () => string,
  source: string,
  token: string,
  lines: readonly string[],
  o: { batch?: number; from?: number; deadlineMs?: number; stats?: ShipStats } = {},
): Promise<ShipStats> {
  const stats = o.stats ?? { accepted: 0, duplicates: 0, statuses: {} };
  const batch = o.batch ?? 100;
  const deadline = Date.now() + (o.deadlineMs ?? 60_000);
  let next = o.from ?? 0;
  while (next < lines.length) {
    if (Date.now() > deadline) throw new Error(`shipping did not finish: next ${next} of ${lines.length}; ${JSON.stringify(stats)}`);
    let r;
    try {
      r = await post(target(), source, token, lines.slice(next, next + batch).map((l) => l + '\n').join(''));
    } catch {
      stats.statuses.network = (stats.statuses.network ?? 0) + 1;
      await new Promise((res) => setTimeout(res, 100));
      continue;
    }
    stats.statuses[r.status] = (stats.statuses[r.status] ?? 0) + 1;
    if (r.status === 200 || (r.status === 409 && r.json.code === 'SEQ_GAP')) {
      stats.accepted += r.json.accepted;
      stats.duplicates += r.json.duplicates;
      next = r.json.next;
    } else if (r.status === 503 || r.status === 429) {
      if (!r.retryAfter) throw new Error(`${r.status} without Retry-After`);
      await new Promise((res) => setTimeout(res, 100));
    } else {
      throw new Error(`unexpected ${r.status}: ${JSON.stringify(r.json)}`);
    }
  }
  return stats;
}

/** A child process that takes the file's write lock, says so, holds it `ms`, then commits. */
export function holdSqliteWriteLock(file: string, ms: number): { held: Promise<void>; done: Promise<number | null> } {
  const code = `
    const D = require('better-sqlite3');
    const db = new D(process.argv[1]);
    db.exec('BEGIN IMMEDIATE');
    db.prepare("UPDATE heads SET seq = seq").run();
    process.stdout.write('held\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.argv[2]));`;
  const child = spawn(process.execPath, ['-e', code, file, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const held = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    child.on('exit', () => reject(new Error('the lock holder exited before taking the lock')));
  });
  return { held, done };
}
