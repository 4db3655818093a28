/**
 * Quarantined events are kept for review outside the durable event set (spec §16.4): one JCS
 * line per event in quarantine.jsonl, fsynced before the caller hears of the quarantine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { canonicalize } from '../format/canonical.js';
import type { SealedEvent } from '../format/event.js';
import type { PolicyDecision } from '../policy/decision.js';
import type { FileIO } from '../store/file-io.js';
import { asIoError } from '../store/os-error.js';

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
    try {
      this.write(record);
    } catch (e) {
      throw asIoError(e, this.path);
    }
  }

  private write(record: QuarantineRecord): void {
    if (this.fd === undefined) {
      const created = !fs.existsSync(this.path);
      const c = fs.constants;
      // Never through a link (spec §7.1): the folder's check at open does not cover a link
      // planted before the first quarantine of this writer.
      this.fd = this.io.open(this.path, c.O_RDWR | c.O_CREAT | c.O_APPEND | (c.O_NOFOLLOW ?? 0), 0o600);
      if (created) this.io.syncDir(path.dirname(this.path));
    }
    const end = this.io.size(this.fd);
    // After a crash mid-record the file ends without a newline: end that fragment first so this
    // record is a line of its own (readers skip the unreadable fragment).
    const last = Buffer.alloc(1);
    const torn = end > 0 && this.io.read(this.fd, last, end - 1) === 1 && last[0] !== 0x0a;
    const line = Buffer.from((torn ? '\n' : '') + canonicalize(record) + '\n');
    this.io.write(this.fd, line, end);
    this.io.sync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) this.io.close(this.fd);
    this.fd = undefined;
  }
}
