/** What a shipper reports about itself (spec §20.6). */
import type { WitnessStatus } from './checkpointer.js';

export type ShipperState = 'running' | 'backing-off' | 'halted';

export interface ShipError {
  /** The collector's code (FORK, SEQ_GAP, UNKNOWN_KEY, …), HTTP_<status>, NETWORK, or a local error code. */
  code: string;
  message: string;
  /** HTTP status, when the collector answered. */
  status?: number;
  /** The seq the collector named (FORK, 422). */
  seq?: number;
  reason?: string;
  at: string;
}

export interface ShipperStatus {
  source: string;
  url: string;
  state: ShipperState;
  /** Last seq the collector confirmed it holds; -1 when it holds none; null before it answered. */
  shippedThrough: number | null;
  /** Last durable seq on this host; -1 when empty. */
  head: number;
  /** Events on this host the collector is not known to hold. */
  lagEvents: number;
  /** Age in seconds of the oldest event not yet shipped; 0 when caught up. */
  lagSeconds: number;
  lastError: ShipError | null;
  /** When the next attempt is due, while backing off or halted. */
  retryAt: string | null;
  /** Lines per batch now (halved by 413). */
  batchLines: number;
  stopped: boolean;
  /** Checkpoints and their witnessing (spec §20.10); null without a checkpoint key. */
  witness: WitnessStatus | null;
}
