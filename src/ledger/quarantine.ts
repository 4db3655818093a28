/**
 * Quarantined events are kept for review outside the durable event set (spec §16.4): one JCS
 * line per event in quarantine.jsonl, fsynced before the caller hears of the quarantine.
 */
import { canonicalize } from '../format/canonical.js';
import type { SealedEvent } from '../format/event.js';
import type { PolicyDecision } from '../policy/decision.js';
import type { FileIO } from '../store/file-io.js';

export interface QuarantineRecord {
  quarantinedAt: string;
  decision: PolicyDecision;
  /** The event as it would have been sealed; its seq was not consumed. */
  event: SealedEvent;
}

export class QuarantineFile {
  private fd: number | undefined;

  constructor(private readonly path: string, private readonly io: FileIO) {}

  add(record: QuarantineRecord): void {
    this.fd ??= this.io.open(this.path, 'a', 0o600);
    const line = Buffer.from(canonicalize(record) + '\n');
    this.io.write(this.fd, line, this.io.size(this.fd));
    this.io.sync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) this.io.close(this.fd);
    this.fd = undefined;
  }
}
