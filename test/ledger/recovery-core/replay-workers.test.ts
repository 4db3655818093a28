// ADR 0036 step 2: a replay into an empty ledger.db with its line checks on worker threads.
// The equivalence property (bulk-replay.test.ts) holds the outcomes equal for 0, 1 and 2 threads;
// here: the errors that must cross the thread boundary as themselves, the overlong line, the
// thread option, and no thread left running on any path. The workers run from
// dist/ledger/replay-worker.js: after editing src, run `npm run build`.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { replayJsonlIntoSqlite, type ReplayOptions } from '../../../src/ledger/replay.js';
import { VerificationError, LedgerStateError, KeyError } from '../../../src/errors.js';
import { appendLines, appendRaw, dropProjection, eventAfter, events, folderWith, KEY_OUTSIDE, lineOf, lines, rejection, removeFolders, type Folder } from './folder.js';

afterEach(removeFolders);

const workerUrl = new URL('../../../dist/ledger/replay-worker.js', import.meta.url);

/** This process's OS threads: a worker thread that was not terminated is still one of them. */
function threadCount(): number {
  return fs.readdirSync('/proc/self/task').length;
}

/** Replay `f` (projection dropped) on `threads` workers; the thread count before, at most during, after. */
async function replayCounting(f: Folder, options: ReplayOptions): Promise<{ before: number; peak: number; after: number; result: unknown }> {
  dropProjection(f);
  const before = threadCount();
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, threadCount())), 1);
  let result: unknown;
  try {
    result = await replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring, workerUrl, batchBytes: 512, ...options });
  } catch (e) {
    result = e;
  } finally {
    clearInterval(timer);
  }
  return { before, peak, after: threadCount(), result };
}

/** Both outcomes of one replay of a copy inline and one on workers, as comparable values. */
async function inlineAndWorkers(f: Folder, threads: number) {
  const copy = `${f.dir}-inline`;
  fs.cpSync(f.dir, copy, { recursive: true });
  try {
    const inline = await rejection(replayJsonlIntoSqlite({ dir: copy }, { keyring: f.keyring, workers: 0 }));
    const workers = await rejection(replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring, workers: threads, workerUrl, batchBytes: 300 }));
    return { inline, workers };
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
}

const asValue = (e: Error & { code?: string; details?: unknown }) => ({ class: e.constructor.name, code: e.code, message: e.message, details: e.details });

describe('replay on worker threads (ADR 0036)', () => {
  it('a forged signature deep in the file throws the same VerificationError as inline, with seq and offset', async () => {
    const f = await folderWith(60);
    const ls = lines(f);
    const evs = events(f);
    ls[41] = lineOf({ ...evs[41]!, sig: evs[40]!.sig! });
    fs.writeFileSync(f.jsonl, ls.join('\n') + '\n');
    dropProjection(f);
    const { inline, workers } = await inlineAndWorkers(f, 2);
    expect(workers).toBeInstanceOf(VerificationError);
    expect(asValue(workers)).toEqual(asValue(inline));
    expect(workers).toMatchObject({ code: 'INVALID_SIGNATURE', details: { seq: 41 } });
  });

  it('an unknown key: the same KeyError as inline', async () => {
    const f = await folderWith(20);
    appendLines(f, [lineOf(eventAfter(events(f).at(-1), { signer: KEY_OUTSIDE }))]);
    dropProjection(f);
    const { inline, workers } = await inlineAndWorkers(f, 1);
    expect(asValue(workers)).toEqual(asValue(inline));
    expect(workers).toBeInstanceOf(inline.constructor as typeof KeyError);
  });

  it('an unsigned line where the caller requires signatures: SIGNATURE_REQUIRED as inline, not a defect', async () => {
    const f = await folderWith(20, { signed: false });
    dropProjection(f);
    const copy = `${f.dir}-inline`;
    fs.cpSync(f.dir, copy, { recursive: true });
    const inline = await rejection(replayJsonlIntoSqlite({ dir: copy }, { workers: 0, requireSignatures: true }));
    const workers = await rejection(replayJsonlIntoSqlite({ dir: f.dir }, { workers: 2, workerUrl, batchBytes: 200, requireSignatures: true }));
    fs.rmSync(copy, { recursive: true, force: true });
    expect(workers).toBeInstanceOf(VerificationError);
    expect(asValue(workers)).toEqual(asValue(inline));
    expect(workers).toMatchObject({ code: 'SIGNATURE_REQUIRED', details: { seq: 0, offset: 0 } });
  });

  it('a chain break wins over a bad signature on the same line (the inline order: seq and prev first)', async () => {
    const f = await folderWith(10);
    const evs = events(f);
    const wrongPrev = eventAfter(evs.at(-1), { prev: 'a'.repeat(64) });
    appendLines(f, [lineOf({ ...wrongPrev, sig: evs[0]!.sig! })]);
    dropProjection(f);
    const r = await replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring, workers: 2, workerUrl, batchBytes: 256 });
    expect(r).toMatchObject({ inserted: 10, tornTail: { code: 'CHAIN_BROKEN' } });
  });

  it('a repeated id: MIRROR_CONFLICT as a LedgerStateError, as inline', async () => {
    const f = await folderWith(15, { signed: false });
    appendLines(f, [lineOf(eventAfter(events(f).at(-1), { id: 'ev-4', signer: null }))]);
    dropProjection(f);
    const { inline, workers } = await inlineAndWorkers(f, 2);
    expect(workers).toBeInstanceOf(LedgerStateError);
    expect(asValue(workers)).toEqual(asValue(inline));
  });

  // ADR 0040: rows go in 64 per statement. A repeated id inside a full group fails the group's
  // statement; the group then goes row by row, so the rows before it are in when the conflict is
  // described. Rows still pending when a later line fails are inserted first, so that the
  // earlier line's conflict wins, as with one-row inserts.
  describe('grouped inserts keep the inline outcome', () => {
    async function sameAsInline(f: Folder, batchBytes: number) {
      dropProjection(f);
      const copy = `${f.dir}-inline`;
      fs.cpSync(f.dir, copy, { recursive: true });
      const inline = await rejection(replayJsonlIntoSqlite({ dir: copy }, { keyring: f.keyring, workers: 0 }));
      fs.rmSync(copy, { recursive: true, force: true });
      const workers = await rejection(replayJsonlIntoSqlite({ dir: f.dir }, { keyring: f.keyring, workers: 1, workerUrl, batchBytes }));
      expect(workers).toBeInstanceOf(LedgerStateError);
      expect(workers).toMatchObject({ code: 'MIRROR_CONFLICT', details: { seq: 100 } });
      expect(asValue(workers)).toEqual(asValue(inline));
      expect(fs.existsSync(f.sqlite)).toBe(false);
    }

    /** Unsigned events after `f`'s last: a repeat of ev-7's id at seq 100, `valid` more, then a forged signature. */
    function appendConflict(f: Folder, valid: number): void {
      const evs = events(f);
      const chain = [eventAfter(evs.at(-1), { id: 'ev-7', signer: null })];
      for (let i = 0; i < valid; i++) chain.push(eventAfter(chain.at(-1), { signer: null }));
      chain.push({ ...eventAfter(chain.at(-1), { signer: null }), sig: evs[0]!.sig ?? eventAfter(undefined).sig! });
      appendLines(f, chain.map(lineOf));
    }

    it('a repeated id in a full group (seq 64-127, one batch): the statement fails, the rows before it go in one by one', async () => {
      const f = await folderWith(100, { signed: false });
      appendConflict(f, 40);
      await sameAsInline(f, 1 << 20);
    });

    it('a repeated id pending when the next line of its batch carries a forged signature: the conflict wins', async () => {
      const f = await folderWith(100, { signed: false });
      appendConflict(f, 0);
      for (const batchBytes of [1 << 20, 600]) await sameAsInline(f, batchBytes);
    });
  });

  it('a line over the length limit is never buffered and stops the load as inline', async () => {
    const f = await folderWith(12, { signed: false });
    const at = appendRaw(f, `{"v":1,"x":"${'y'.repeat(1100 * 1024)}"}\n`);
    dropProjection(f);
    const copy = `${f.dir}-inline`;
    fs.cpSync(f.dir, copy, { recursive: true });
    const inline = await replayJsonlIntoSqlite({ dir: copy }, { workers: 0 });
    const workers = await replayJsonlIntoSqlite({ dir: f.dir }, { workers: 2, workerUrl, batchBytes: 4096 });
    fs.rmSync(copy, { recursive: true, force: true });
    const { durationMs: _a, ...w } = workers;
    const { durationMs: _b, ...i } = inline;
    expect(w).toEqual(i);
    expect(workers).toMatchObject({ inserted: 12, scanned: 13, tornTail: { code: 'MALFORMED_LINE', offset: at } });
  });

  it('refuses a thread count that is not a non-negative integer, before opening anything', async () => {
    const f = await folderWith(3, { signed: false });
    dropProjection(f);
    for (const workers of [-1, 1.5, Number.NaN]) {
      await expect(replayJsonlIntoSqlite({ dir: f.dir }, { workers })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(fs.existsSync(f.sqlite)).toBe(false);
  });

  describe('no worker thread is left running', () => {
    it('after a replay that succeeds, one that stops at a defect, and one that throws', async () => {
      const f = await folderWith(120);
      // Warm-up: a first replay may start threads that stay for the process (libuv, V8).
      await replayCounting(f, { workers: 2 });
      const ok = await replayCounting(f, { workers: 2 });
      expect(ok.result).toMatchObject({ inserted: 120 });
      expect(ok.peak).toBeGreaterThanOrEqual(ok.before + 2);
      expect(ok.after).toBe(ok.before);

      appendLines(f, ['{"not":"an event"}']);
      const defect = await replayCounting(f, { workers: 2 });
      expect(defect.result).toMatchObject({ inserted: 120, tornTail: { code: 'MALFORMED_LINE' } });
      expect(defect.after).toBe(defect.before);

      const ls = lines(f).slice(0, 120);
      const evs = events({ ...f }).slice(0, 120);
      ls[7] = lineOf({ ...evs[7]!, sig: evs[6]!.sig! });
      fs.writeFileSync(f.jsonl, ls.join('\n') + '\n');
      const thrown = await replayCounting(f, { workers: 2 });
      expect(thrown.result).toMatchObject({ code: 'INVALID_SIGNATURE' });
      expect(thrown.after).toBe(thrown.before);
    });
  });
});
