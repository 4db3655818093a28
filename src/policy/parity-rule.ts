/**
 * The parity-invariant rule (spec §16.2), computed from evidence the ledger gathers inside the
 * writer lock: where events.jsonl ends and what the SQLite watermark says.
 */
import { PARITY_INVARIANT_RULE_ID, type RuleResult } from './decision.js';

export interface ParityEvidence {
  jsonl: { size: number; lastSeq: number; lastHash: string };
  sqlite: { offset: number; seq: number; hash: string };
}

export function parityRule(evidence: ParityEvidence): RuleResult {
  const { jsonl, sqlite } = evidence;
  if (jsonl.size !== sqlite.offset) {
    return {
      id: PARITY_INVARIANT_RULE_ID,
      outcome: 'reject',
      reason: `events.jsonl ends at byte ${jsonl.size} but the SQLite watermark is at byte ${sqlite.offset}`,
    };
  }
  if (jsonl.lastSeq !== sqlite.seq || jsonl.lastHash !== sqlite.hash) {
    return {
      id: PARITY_INVARIANT_RULE_ID,
      outcome: 'reject',
      reason: `last JSONL event (seq ${jsonl.lastSeq}, ${jsonl.lastHash.slice(0, 12)}) differs from the watermark (seq ${sqlite.seq}, ${sqlite.hash.slice(0, 12)})`,
    };
  }
  return {
    id: PARITY_INVARIANT_RULE_ID,
    outcome: 'allow',
    reason: `jsonl and sqlite agree at seq ${sqlite.seq}, byte ${sqlite.offset}`,
  };
}
