import fs from 'node:fs';
import path from 'node:path';
import type { SealedEvent } from '../../src/format/event.js';

/** Pull from `it` until `n` events arrived or `ms` passed (then fail naming what came). */
export async function take(it: AsyncIterator<SealedEvent>, n: number, ms = 10_000): Promise<SealedEvent[]> {
  const got: SealedEvent[] = [];
  const deadline = Date.now() + ms;
  while (got.length < n) {
    const left = deadline - Date.now();
    const r = await Promise.race([it.next(), new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), Math.max(0, left)))]);
    if (r === 'timeout') throw new Error(`timed out after ${got.length} of ${n} events (last seq ${got.at(-1)?.seq})`);
    if (r.done) break;
    got.push(r.value);
  }
  return got;
}

/** Whether `it.next()` stays pending for `ms`: the follower yields nothing more. */
export async function staysPending(p: Promise<unknown>, ms: number): Promise<boolean> {
  const r = await Promise.race([p.then(() => 'settled'), new Promise((res) => setTimeout(() => res('pending'), ms))]);
  return r === 'pending';
}

export function jsonlHashes(dir: string): string[] {
  return fs
    .readFileSync(path.join(dir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => JSON.parse(l).hash as string);
}

export async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
