/**
 * Worker thread of a bulk replay (spec §14.3, ADR 0036): the order-free checks of replayTail's
 * `check` on a batch of whole lines (line limit, parse, canonical form and seal, payload limit,
 * signature, signing policy), answered packed. It holds no chain state: seq contiguity, prev and
 * the inserts stay on the writing thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InvalidInputError, VerificationError } from '../errors.js';
import { Keyring } from '../crypto/keyring.js';
import { checkEventLine, type CheckedLine } from '../format/event-line.js';
import { faultReply, type PoolReply } from '../io/worker-pool.js';
import { linesOf, type LineBatch } from '../store/line-batches.js';
import { limitViolation, type ReadPolicy, signaturePolicyViolation } from './read-policy.js';
import { carryError, ReplayLinePacker, type LineFailure, type ReplayBatchReply } from './replay-wire.js';
import { checkTailSignature } from './tail-replay.js';

export interface ReplayWorkerData {
  keyringJson: string | null;
  policy: ReadPolicy;
}

const port = parentPort;
if (port === null) throw new Error('replay-worker.js runs only as a worker thread');
const data = workerData as ReplayWorkerData;
const keyring = data.keyringJson === null ? undefined : Keyring.fromJSON(data.keyringJson);
const policy = data.policy;

port.on('message', (req: { id: number; batch: LineBatch }) => {
  let reply: PoolReply<ReplayBatchReply>;
  try {
    reply = { id: req.id, ...checkBatch(req.batch) };
  } catch (e) {
    reply = faultReply(req.id, e);
  }
  port.postMessage(reply, 'lines' in reply ? [reply.lines.nums.buffer as ArrayBuffer, reply.lines.leaves.buffer as ArrayBuffer] : []);
});

function checkBatch(batch: LineBatch): ReplayBatchReply {
  const packer = new ReplayLinePacker();
  let index = 0;
  let failure: LineFailure | undefined;
  for (const line of linesOf(batch)) {
    const start = line.offset - batch.offset;
    const pre = (f: Omit<LineFailure, 'index' | 'stage'>): LineFailure => ({ index, stage: 'pre', ...f });
    if (line.badUtf8) {
      failure = pre({ defect: ['MALFORMED_LINE', 'line is not valid UTF-8'] });
      break;
    }
    if (line.length - 1 > policy.maxLineBytes) {
      failure = pre({ defect: ['MALFORMED_LINE', `line is longer than ${policy.maxLineBytes} bytes (spec §3.1.1)`] });
      break;
    }
    let rec: CheckedLine;
    try {
      rec = checkEventLine(line.text, { offset: line.offset });
    } catch (e) {
      if (!(e instanceof InvalidInputError || e instanceof VerificationError)) failure = pre({ error: carryError(e) });
      else failure = pre({ defect: [e.code === 'SEAL_MISMATCH' ? 'SEAL_MISMATCH' : 'MALFORMED_LINE', e.message] });
      break;
    }
    const ev = rec.event;
    packer.add(ev.seq, start, start + line.length, line.text, { id: ev.id, at: ev.at, kind: ev.kind, actor: ev.actor ?? null, kid: ev.sig?.kid ?? null, prev: ev.prev, hash: ev.hash }, rec.positions);
    const post = postCheck(rec, line.length, line.offset);
    if (post) {
      failure = { index, stage: 'post', ...post };
      break;
    }
    index++;
  }
  return { lines: packer.pack(), ...(failure ? { failure } : {}) };
}

/** What replayTail checks after seq and prev, in its order: payload limit, signature, policy. */
function postCheck(rec: CheckedLine, length: number, offset: number): Omit<LineFailure, 'index' | 'stage'> | undefined {
  const tooBig = limitViolation(length - 1, rec.payloadJson, policy);
  if (tooBig) return { defect: ['MALFORMED_LINE', `seq ${rec.event.seq}: ${tooBig}`] };
  try {
    checkTailSignature(rec.event, keyring, offset);
    const unsigned = signaturePolicyViolation(rec.event, policy, { offset });
    if (unsigned) throw unsigned;
  } catch (e) {
    return { error: carryError(e) };
  }
  return undefined;
}
