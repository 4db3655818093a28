/**
 * The body of the collector's SQLite worker thread (spec §18.6.2, ADR 0028): it owns the one
 * better-sqlite3 connection and runs each statement the main thread posts, so a transaction's
 * inserts, its fsync at commit and a wait for another process's write lock hold this thread,
 * never the event loop that answers requests.
 *
 * It runs as `new Worker(source, { eval: true })` from the text of `sqliteThreadMain`, not from
 * a file: the same code then runs from dist/ and from the TypeScript sources under the tests, and
 * nothing else of the package is loaded into the thread. So the function must be self-contained:
 * no imports, no references to anything outside its body; what it needs comes in `workerData`.
 */

/** Posted to the thread. `id` pairs a reply with its request. */
export type ThreadRequest =
  | { kind: 'query'; id: number; sql: string; params: readonly unknown[] }
  | { kind: 'stream'; id: number; sql: string; params: readonly unknown[]; chunk: number }
  | { kind: 'next'; id: number; stream: number; chunk: number }
  | { kind: 'end-stream'; id: number; stream: number }
  | { kind: 'close'; id: number };

export interface ThreadError {
  name: string;
  message: string;
  code?: string;
}

/** Posted back. `ready` once, first: the connection is open and configured (or it failed). */
export type ThreadReply =
  | { kind: 'ready'; error?: ThreadError }
  | { kind: 'result'; id: number; rows: unknown[]; changes?: number; lastInsertRowid?: number | bigint }
  | { kind: 'rows'; id: number; rows: unknown[]; done: boolean }
  | { kind: 'error'; id: number; error: ThreadError };

export interface ThreadData {
  /** Absolute path of better-sqlite3's entry, resolved by the main thread. */
  driver: string;
  file: string;
  busyTimeoutMs: number;
}

export function sqliteThreadMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const data = workerData as ThreadData;
  const port = parentPort!;
  const toError = (e: unknown): ThreadError => {
    const err = e as { name?: unknown; message?: unknown; code?: unknown };
    return {
      name: typeof err?.name === 'string' ? err.name : 'Error',
      message: typeof err?.message === 'string' ? err.message : String(e),
      ...(typeof err?.code === 'string' ? { code: err.code } : {}),
    };
  };
  // Structured cloning turns a Buffer into a plain Uint8Array; better-sqlite3 binds Buffers.
  const bindable = (params: readonly unknown[]) => params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p));
  let db: import('better-sqlite3').Database;
  try {
    const Database = require(data.driver) as typeof import('better-sqlite3');
    db = new Database(data.file);
    db.pragma('journal_mode = WAL');
    // An acknowledged batch must survive a power cut: sync the WAL at every commit.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
  } catch (e) {
    port.postMessage({ kind: 'ready', error: toError(e) } satisfies ThreadReply);
    return;
  }
  const streams = new Map<number, Iterator<unknown>>();
  // A stream is known by the id of the request that opened it; each chunk answers its own request.
  const pull = (stream: number, id: number, chunk: number): void => {
    const it = streams.get(stream);
    if (it === undefined) throw new Error(`no open stream ${stream}`);
    const rows: unknown[] = [];
    let done = false;
    while (rows.length < chunk) {
      const r = it.next();
      if (r.done) {
        done = true;
        break;
      }
      rows.push(r.value);
    }
    if (done) streams.delete(stream);
    port.postMessage({ kind: 'rows', id, rows, done } satisfies ThreadReply);
  };
  port.on('message', (req: ThreadRequest) => {
    try {
      switch (req.kind) {
        case 'query': {
          const stmt = db.prepare(req.sql);
          if (stmt.reader) {
            port.postMessage({ kind: 'result', id: req.id, rows: stmt.all(bindable(req.params)) } satisfies ThreadReply);
          } else {
            const { changes, lastInsertRowid } = stmt.run(bindable(req.params));
            port.postMessage({ kind: 'result', id: req.id, rows: [], changes, lastInsertRowid } satisfies ThreadReply);
          }
          return;
        }
        case 'stream':
          streams.set(req.id, db.prepare(req.sql).iterate(bindable(req.params)) as Iterator<unknown>);
          pull(req.id, req.id, req.chunk);
          return;
        case 'next':
          pull(req.stream, req.id, req.chunk);
          return;
        case 'end-stream':
          streams.get(req.stream)?.return?.();
          streams.delete(req.stream);
          port.postMessage({ kind: 'rows', id: req.id, rows: [], done: true } satisfies ThreadReply);
          return;
        case 'close':
          for (const it of streams.values()) it.return?.();
          streams.clear();
          db.close();
          port.postMessage({ kind: 'result', id: req.id, rows: [] } satisfies ThreadReply);
          port.close();
          return;
      }
    } catch (e) {
      if (req.kind === 'stream') streams.delete(req.id);
      if (req.kind === 'next') streams.delete(req.stream);
      port.postMessage({ kind: 'error', id: req.id, error: toError(e) } satisfies ThreadReply);
    }
  });
  port.postMessage({ kind: 'ready' } satisfies ThreadReply);
}
