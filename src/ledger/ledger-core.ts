/**
 * What the group committer needs from an open ledger. Kept as an interface so the commit path
 * reads as one protocol (spec §13.1) and the Ledger class stays about lifecycle and reads.
 */
import type { SealedEvent } from '../format/event.js';
import type { EventSigner } from '../format/signature.js';
import type { CompactRange } from '../merkle/compact-range.js';
import type { ParityEvidence } from '../policy/parity-rule.js';
import type { Policy } from '../policy/rules.js';
import type { JsonlFile } from '../store/jsonl-file.js';
import type { Projection, Watermark } from '../store/projection.js';
import type { CrashPoint } from './crash-points.js';
import type { QuarantineFile } from './quarantine.js';

export interface LedgerCore {
  readonly jsonl: JsonlFile;
  readonly projection: Projection;
  readonly quarantine: QuarantineFile;
  readonly policy: Policy;
  readonly signer: EventSigner | undefined;
  readonly requireSignatures: boolean;
  frontier: CompactRange;
  /** The last event both stores agree on, as this process last verified it. */
  head: Watermark;
  crash(point: CrashPoint): void;
  assertWritable(): void;
  /** BEGIN IMMEDIATE without blocking the event loop; LOCK_TIMEOUT after the configured wait. */
  acquireWriterLock(): Promise<void>;
  /** IO_ERROR (and poisoned) when events.jsonl or ledger.db at their paths are not the files held. */
  assertStillAtPaths(): void;
  /** Inside the lock: make the projection match the end of events.jsonl (O(drift)); returns the parity evidence it read. */
  healInLock(): ParityEvidence;
  eventById(id: string): SealedEvent | undefined;
  assertSignerValid(signer: EventSigner, event: SealedEvent): void;
  /** A simulated crash: drop everything as a killed process would. */
  die(): void;
  /** An unrecoverable I/O failure: refuse writes until reopened. */
  poison(cause: unknown): void;
}
