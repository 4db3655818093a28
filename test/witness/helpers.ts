/** A test log: leaves, signed checkpoints and add-checkpoint bodies, with the naive oracle. */
import { cosignatureVerifierOf, type CosignatureSigner } from '../../src/merkle/cosignature.js';
import { signCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import type { NoteSigner } from '../../src/merkle/signed-note.js';
import { verifierKeyString } from '../../src/merkle/verifier-key.js';
import { Witness } from '../../src/witness/add-checkpoint.js';
import { mth, proof as naiveProof, sampleLeaves } from '../merkle/naive-rfc6962.js';
import { randomSigner } from '../merkle/note-keys.js';
import { MemoryWitnessStore } from './memory-store.js';

export const ORIGIN = 'example.com/test-log';
export const SOURCE = 'host-a';

export function body(oldSize: number | string, proof: readonly Uint8Array[], note: string): Buffer {
  const lines = [`old ${oldSize}`, ...proof.map((p) => Buffer.from(p).toString('base64'))].map((l) => `${l}\n`).join('');
  return Buffer.from(`${lines}\n${note}`, 'utf8');
}

export class TestLog {
  readonly logKey: NoteSigner;
  leaves: Buffer[];

  constructor(size: number, tag = 'entry', logKey: NoteSigner = randomSigner(ORIGIN)) {
    this.logKey = logKey;
    this.leaves = sampleLeaves(size, tag);
  }

  get vkey(): string {
    return verifierKeyString(this.logKey.name, this.logKey.publicKey);
  }

  root(size = this.leaves.length): Buffer {
    return mth(this.leaves.slice(0, size));
  }

  checkpoint(size = this.leaves.length, signers: readonly NoteSigner[] = [this.logKey], origin = ORIGIN): string {
    return signCheckpoint({ origin, size, rootHash: this.root(size) }, signers);
  }

  proof(from: number, to = this.leaves.length): Buffer[] {
    return from === 0 || from === to ? [] : naiveProof(from, this.leaves.slice(0, to));
  }

  /** The add-checkpoint body moving the witness from `from` to `to`. */
  request(from: number, to = this.leaves.length): Buffer {
    return body(from, this.proof(from, to), this.checkpoint(to));
  }

  /** A copy whose leaves from `at` on are different: a fork of this log, same key. */
  fork(at: number, size = this.leaves.length): TestLog {
    const other = new TestLog(0, 'entry', this.logKey);
    other.leaves = [...this.leaves.slice(0, at), ...sampleLeaves(size, 'forked').slice(at)];
    return other;
  }
}

export function setup(options: { now?: () => number; witness?: CosignatureSigner[] } = {}) {
  const store = new MemoryWitnessStore();
  const log = new TestLog(20);
  store.addLog({ source: SOURCE, origin: ORIGIN, verifierKeys: [log.vkey] });
  const signers = options.witness ?? [randomSigner('witness.example/w1')];
  const witness = new Witness({ store, signers, now: options.now ?? (() => 1_700_000_000) });
  return { store, log, witness, signers, verifiers: signers.map((s) => cosignatureVerifierOf(s)) };
}
