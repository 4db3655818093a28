// The projection worker of the split prototype (bench/projection-split.mjs): its own better-sqlite3
// connection to ledger.db, the real Projection (prepared INSERTs, Merkle node rows, watermark)
// over it. Batches arrive after their lines are fsynced; everything queued when one arrives is
// mirrored in one transaction, then acknowledged with the last seq committed. A batch comes as a
// flat array of every field ('batch') or as the written bytes plus the short columns ('bytes').
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { Projection } from '../../dist/store/projection.js';
import { CompactRange } from '../../dist/merkle/compact-range.js';
import { threadSched } from './thread-sched.mjs';

const db = new Database(workerData.dbPath, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
const projection = Projection.attach(db);
const frontier = CompactRange.empty();
const W = 9; // fields per event in a batch message

/** Mirror one batch message: a flat array of [seq, id, at, kind, actor, hash, kid, line, offset]. */
function mirrorBatch(flat) {
  let last;
  for (let i = 0; i < flat.length; i += W) {
    const rec = {
      event: { seq: flat[i], id: flat[i + 1], at: flat[i + 2], kind: flat[i + 3], actor: flat[i + 4] ?? undefined, hash: flat[i + 5], sig: flat[i + 6] ? { kid: flat[i + 6] } : undefined },
      line: flat[i + 7],
      hash: Buffer.from(flat[i + 5], 'hex'),
    };
    last = projection.mirror(rec, flat[i + 8], frontier);
  }
  return last;
}

/** Mirror one 'bytes' message: the lines cut out of the written bytes, the short columns from `meta`. */
function mirrorBytes(m) {
  const buf = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  const metas = m.meta.split('\u0001');
  let last;
  let pos = 0;
  let offset = m.offset;
  for (let i = 0; i < m.lens.length; i++) {
    const [id, at, kind, actor, hash] = metas[i].split('\u0000');
    const rec = {
      event: { seq: m.firstSeq + i, id, at, kind, actor: actor || undefined, hash },
      line: buf.toString('utf8', pos, pos + m.lens[i] - 1),
      hash: Buffer.from(hash, 'hex'),
    };
    last = projection.mirror(rec, offset, frontier);
    pos += m.lens[i];
    offset += m.lens[i];
  }
  return last;
}

const mirrorAny = (m) => (m.type === 'bytes' ? mirrorBytes(m) : mirrorBatch(m.flat));

parentPort.on('message', (m) => {
  if (m.type === 'cpu') return parentPort.postMessage({ type: 'cpu', sched: threadSched() });
  // A batch: take every batch already queued into the same transaction (the lag window).
  projection.beginImmediate();
  let last = mirrorAny(m);
  for (let next; (next = receiveMessageOnPort(parentPort)); ) {
    if (next.message.type !== 'batch' && next.message.type !== 'bytes') throw new Error(`unexpected ${next.message.type} inside a batch run`);
    last = mirrorAny(next.message);
  }
  projection.setWatermark(last);
  projection.commit();
  parentPort.postMessage({ type: 'ack', seq: last.seq });
});
