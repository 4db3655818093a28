// Signed (or unsigned) events.jsonl lines of one chain, as a host would ship them.
import { GENESIS_PREV, canonicalize, encodeEventLine, sealEvent, signEvent } from '../../dist/index.js';
import { eventInput } from './events.mjs';

/** `n` lines of one chain (events.jsonl lines without "\n"), signed when `key` is given. */
export function chainLines(n, key, start = { seq: 0, prev: GENESIS_PREV }) {
  const lines = [];
  let prev = start.prev;
  for (let i = 0; i < n; i++) {
    const seq = start.seq + i;
    let ev = sealEvent({ ...eventInput(seq), id: `ev-${seq}`, at: new Date(Date.UTC(2026, 0, 1) + seq).toISOString() }, { seq, prev });
    if (key) ev = signEvent(ev, key);
    lines.push(encodeEventLine(ev, canonicalize(ev.payload)));
    prev = ev.hash;
  }
  return { lines, prev };
}

