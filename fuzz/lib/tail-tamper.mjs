/**
 * Tail probes (spec §7.3, §14.1): from the pristine signed ledger of tamper.mjs, append a
 * generated tail of 1 to 4 lines — valid events, forged signatures, keys outside the keyring, a
 * kid naming the wrong key, forks, seq gaps, broken seals, junk — and maybe a fragment, with
 * ledger.db kept or lost (then every line is past the watermark). The outcome of open is derived
 * here, independently of the library, and checked: refused with the right code and seq and
 * nothing changed, or healed with the right lines mirrored and the rest moved aside byte for byte.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import * as O from './oracle.mjs';

const ITEMS = ['valid', 'forged', 'unknownKey', 'wrongKid', 'fork', 'gap', 'reseal', 'junk'];
const REFUSED = { forged: 'INVALID_SIGNATURE', unknownKey: 'UNKNOWN_KEY', wrongKid: 'INVALID_SIGNATURE' };
/** Lines that fail before any signature check: the valid tail ends there. */
const DEFECT = { fork: 'CHAIN_BROKEN', gap: 'SEQ_GAP', reseal: 'SEAL_MISMATCH', junk: 'MALFORMED_LINE' };

export const tailProbeArb = fc.record({
  items: fc.array(fc.constantFrom(...ITEMS), { minLength: 1, maxLength: 4 }),
  fragment: fc.boolean(),
  dropProjection: fc.boolean(),
});

/**
 * One probe per outcome the tests count, run before the random ones: at 150 random runs an
 * outcome as rare as 'mirrored' (every item valid, no fragment) is missed about once in 20
 * seeds, and a coverage check that fails by chance proves nothing about the library.
 */
export const TAIL_EXAMPLES = [
  { items: ['valid'], fragment: false, dropProjection: false }, // mirrored
  { items: ['valid', 'valid'], fragment: false, dropProjection: true }, // mirrored, every line replayed
  { items: ['forged'], fragment: false, dropProjection: false }, // INVALID_SIGNATURE
  { items: ['valid', 'wrongKid'], fragment: false, dropProjection: true }, // INVALID_SIGNATURE
  { items: ['unknownKey'], fragment: true, dropProjection: false }, // UNKNOWN_KEY
  { items: ['gap', 'valid'], fragment: false, dropProjection: false }, // LEDGER_CORRUPT
  { items: ['fork'], fragment: false, dropProjection: false }, // moved:CHAIN_BROKEN
  { items: ['valid', 'gap', 'junk'], fragment: true, dropProjection: true }, // moved:SEQ_GAP
  { items: ['reseal'], fragment: false, dropProjection: true }, // moved:SEAL_MISMATCH
  { items: ['junk', 'reseal'], fragment: false, dropProjection: false }, // moved:MALFORMED_LINE
  { items: ['valid'], fragment: true, dropProjection: false }, // moved:TORN_LINE
];

let counter = 0;

function lineOf(lib, ev) {
  return lib.encodeEventLine(ev, lib.canonicalize(ev.payload));
}

/** The bytes of each generated line, and what open must do with them. */
function build(lib, p, probe) {
  const events = p.lines.map((l) => JSON.parse(l.bytes.toString()));
  let seq = p.n;
  let prev = events.at(-1).hash;
  const seal = (s, pv, payload) => lib.sealEvent({ kind: 'tail.probe', id: `tail-${s}-${counter++}`, at: '2026-03-04T05:06:07Z', payload }, { seq: s, prev: pv });
  const lines = [];
  for (const item of probe.items) {
    let text;
    if (item === 'valid') text = lineOf(lib, lib.signEvent(seal(seq, prev, 'ok'), p.keyA));
    else if (item === 'forged') text = lineOf(lib, { ...seal(seq, prev, 'forged'), sig: lib.signEvent(seal(seq, prev, 'other'), p.keyA).sig });
    else if (item === 'unknownKey') text = lineOf(lib, lib.signEvent(seal(seq, prev, 'foreign'), p.keyC));
    else if (item === 'wrongKid') text = lineOf(lib, { ...seal(seq, prev, 'misnamed'), sig: { ...lib.signEvent(seal(seq, prev, 'misnamed'), p.keyB).sig, kid: p.keyA.kid } });
    else if (item === 'fork') text = lineOf(lib, lib.signEvent(seal(seq, 'e'.repeat(64), 'fork'), p.keyA));
    else if (item === 'gap') text = lineOf(lib, lib.signEvent(seal(seq + 1, prev, 'gap'), p.keyA));
    else if (item === 'reseal') text = lineOf(lib, lib.signEvent(seal(seq, prev, 'sealed'), p.keyA)).replace('"payload":"sealed"', '"payload":"changed"');
    else text = 'junk line';
    const parsed = O.looseEvent(Buffer.from(text));
    lines.push({ item, text, parsed: item === 'junk' || item === 'reseal' ? null : parsed });
    if (item === 'valid') {
      const ev = JSON.parse(text);
      seq += 1;
      prev = ev.hash;
    }
  }
  return lines;
}

/** What open must do: { refused: code, seq } | { refused: 'LEDGER_CORRUPT', followingSeq } | { accepted, defect? }. */
function expected(p, lines, fragment) {
  let offset = p.bytes.length;
  let accepted = 0;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (REFUSED[l.item]) return { refused: REFUSED[l.item], seq: p.n + accepted, offset };
    if (DEFECT[l.item]) {
      // §7.3: a damaged line with a sealed event (of any kind) after it is damage to history.
      let at = offset + Buffer.byteLength(l.text) + 1;
      for (const later of lines.slice(i + 1)) {
        if (later.parsed) return { refused: 'LEDGER_CORRUPT', offset, followingSeq: later.parsed.seq, followingOffset: at };
        at += Buffer.byteLength(later.text) + 1;
      }
      return { accepted, defect: { code: DEFECT[l.item], offset } };
    }
    accepted++;
    offset += Buffer.byteLength(l.text) + 1;
  }
  return { accepted, ...(fragment ? { defect: { code: 'TORN_LINE', offset } } : {}) };
}

/** One probe; throws PropertyViolation('tamper-detected') when open does the wrong thing. */
export async function probeTail(lib, p, probe) {
  const lines = build(lib, p, probe);
  const want = expected(p, lines, probe.fragment);
  const name = `tail ${JSON.stringify(probe)}`;
  const dir = path.join(p.root, `tail-${counter++}`);
  fs.cpSync(p.dir, dir, { recursive: true });
  for (const s of ['-shm', ...(probe.dropProjection ? ['', '-wal'] : [])]) fs.rmSync(path.join(dir, `${O.SQLITE}${s}`), { force: true });
  const jsonlPath = path.join(dir, O.JSONL);
  fs.appendFileSync(jsonlPath, lines.map((l) => `${l.text}\n`).join('') + (probe.fragment ? '{"at":"2026-' : ''));
  const bytes = fs.readFileSync(jsonlPath);
  const fail = (m) => new O.PropertyViolation('tamper-detected', `${name}: ${m}`);
  try {
    let ledger;
    let error;
    try {
      ledger = await lib.Ledger.open({ dir, keyring: p.keyring });
    } catch (e) {
      error = e;
    }
    if (want.refused) {
      if (ledger) await ledger.close();
      if (!error || error.code !== want.refused) throw fail(`open should refuse with ${want.refused}, got ${error ? O.describeError(error) : 'success'}`);
      const d = error.details ?? {};
      if (want.seq !== undefined && (d.seq !== want.seq || d.offset !== want.offset)) throw fail(`refusal should name seq ${want.seq} at ${want.offset}: ${JSON.stringify(d)}`);
      if (want.followingSeq !== undefined && (d.offset !== want.offset || d.followingSeq !== want.followingSeq || d.followingOffset !== want.followingOffset)) {
        throw fail(`refusal should name offset ${want.offset} and seq ${want.followingSeq} at ${want.followingOffset}: ${JSON.stringify(d)}`);
      }
      if (!fs.readFileSync(jsonlPath).equals(bytes)) throw fail('a refused open changed events.jsonl');
      return want.refused;
    }
    if (error) throw fail(`open should succeed, got ${O.describeError(error)}`);
    const r = ledger.lastReconcile;
    await ledger.close();
    const mirrored = r.replayed + r.alreadyPresent;
    const expectMirrored = want.accepted + (probe.dropProjection ? p.n : 0);
    if (mirrored !== expectMirrored) throw fail(`open mirrored ${mirrored} lines, expected ${expectMirrored}`);
    const cut = want.defect ? want.defect.offset : bytes.length;
    if (!want.defect !== !r.tornTail || (want.defect && (r.tornTail.code !== want.defect.code || r.tornTail.offset !== cut || r.tornTail.length !== bytes.length - cut))) {
      throw fail(`torn tail ${JSON.stringify(r.tornTail)}, expected ${JSON.stringify(want.defect)}`);
    }
    if (!fs.readFileSync(jsonlPath).equals(bytes.subarray(0, cut))) throw fail(`events.jsonl should be cut at ${cut}`);
    if (want.defect && !fs.readFileSync(r.tornTail.savedTo).equals(bytes.subarray(cut))) throw fail('torn/ does not hold the tail byte for byte');
    const v = await lib.verifyLedger({ dir }, { ...lib.verifyDefaults, keyring: p.keyring });
    if (!v.ok) throw fail(`verifyLedger after open: ${JSON.stringify(v.problems.slice(0, 3))}`);
    return want.defect ? `moved:${want.defect.code}` : 'mirrored';
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function tailProbeProperty(lib, p, counts = {}) {
  return fc.asyncProperty(tailProbeArb, async (probe) => {
    const outcome = await probeTail(lib, p, probe);
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  });
}
