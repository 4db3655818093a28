/**
 * spec §15.1.1: stdin past a size limit is refused as soon as the limit is passed (exit 65,
 * INPUT_TOO_LARGE), with memory bounded by the limit rather than by what is piped in. The input
 * comes from a real producer process that would write far more than the limit; the CLI's peak
 * RSS is read from inside it at exit (process.resourceUsage().maxRSS, via a preload).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { BIN, cli, ensureBuilt, expectOneErrorLine } from './cli-harness.js';
import { type Fixture, signedLedger, snapshot } from './fixtures.js';

beforeAll(ensureBuilt);

let f: Fixture;
afterEach(() => f?.cleanup());

const MiB = 1024 * 1024;

/** Writes a file's bytes (repeated) until `total` bytes or a closed pipe; reports the bytes the pipe took. */
const PRODUCER = `
const fs = require('node:fs');
const [line, total] = [fs.readFileSync(process.argv[1]), Number(process.argv[2])];
const block = Buffer.concat(Array.from({ length: Math.max(1, Math.floor(${MiB} / line.length)) }, () => line));
let written = 0;
try {
  while (written < total) written += fs.writeSync(1, block);
} catch (e) {
  if (e.code !== 'EPIPE') throw e;
}
fs.writeSync(2, String(written));
`;

async function pipeInto(dir: string, line: string, total: number) {
  const rssFile = path.join(dir, '..', 'max-rss');
  const preload = path.join(dir, '..', 'rss.cjs');
  fs.writeFileSync(preload, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS * 1024)));`);
  const lineFile = path.join(dir, '..', 'line');
  fs.writeFileSync(lineFile, line);
  const producer = spawn(process.execPath, ['-e', PRODUCER, lineFile, String(total)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const child = spawn(process.execPath, ['-r', preload, BIN, 'append', dir], { stdio: [producer.stdout, 'pipe', 'pipe'] });
  producer.stdout.destroy(); // only the CLI may hold the read end, or the producer never sees EPIPE
  let stderr = '';
  let written = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  producer.stderr.setEncoding('utf8').on('data', (d: string) => (written += d));
  const [code] = await Promise.all([
    new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c))),
    new Promise<void>((resolve) => producer.on('close', () => resolve())),
  ]);
  return { code, stderr, written: Number(written), maxRss: Number(fs.readFileSync(rssFile, 'utf8')) };
}

describe('append: stdin limits', () => {
  it('one endless line: refused at 8 MiB with exit 65, RSS stays small, nothing written', async () => {
    f = await signedLedger(1);
    const before = snapshot(f.dir);
    const r = await pipeInto(f.dir, 'a'.repeat(4096), 400 * MiB);
    expect(r.code).toBe(EXIT.DATAERR);
    expect(expectOneErrorLine(r.stderr, 'INPUT_TOO_LARGE')).toMatch(/stdin line 1 is over 8388608 bytes/);
    // The producer was cut off right after the limit (8 MiB + pipe and chunk buffers), not at 400 MiB.
    expect(r.written).toBeLessThan(8 * MiB + 2 * MiB);
    // Before the bound the same input reached 897 MB; a bare node process is about 40-60 MB.
    expect(r.maxRss).toBeLessThan(160 * MiB);
    expect(snapshot(f.dir)).toEqual(before);
  });

  it('valid lines past 64 MiB in all: refused once the total passes it, exit 65, nothing written', async () => {
    f = await signedLedger(1);
    const before = snapshot(f.dir);
    const line = `${JSON.stringify({ kind: 'bulk', payload: 'x'.repeat(1_000_000) })}\n`;
    const r = await pipeInto(f.dir, line, 200 * MiB);
    expect(r.code).toBe(EXIT.DATAERR);
    expect(expectOneErrorLine(r.stderr, 'INPUT_TOO_LARGE')).toMatch(/stdin is over 67108864 bytes, the most one atomic append reads; split it/);
    expect(r.written).toBeLessThan(64 * MiB + 2 * MiB);
    expect(r.maxRss).toBeLessThan(512 * MiB);
    expect(snapshot(f.dir)).toEqual(before);
  });

  it('a line just under the line limit is read (and judged on its content)', async () => {
    f = await signedLedger(1);
    const payload = 'y'.repeat(MiB - 2); // canonical payload exactly maxPayloadBytes
    const input = `{"kind":"big",${' '.repeat(8 * MiB - 27 - payload.length)}"payload":"${payload}"}`;
    expect(Buffer.byteLength(input)).toBe(8 * MiB);
    const r = cli(['append', f.dir, '--json'], { input: `${input}\n` });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ appended: 1, lastSeq: 1 });
    const over = cli(['append', f.dir], { input: ` ${input}\n` });
    expect(over.code).toBe(EXIT.DATAERR);
    expectOneErrorLine(over.stderr, 'INPUT_TOO_LARGE');
  });

  it('empty stdin says "0 events" on stderr, exits 0, writes nothing; --quiet says nothing', async () => {
    f = await signedLedger(1);
    const before = snapshot(f.dir);
    const r = cli(['append', f.dir], { input: '' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('sealed-ledger: 0 events on stdin: nothing appended\n');
    const quiet = cli(['--quiet', 'append', f.dir], { input: '\n\n' });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(snapshot(f.dir)).toEqual(before);
  });
});
