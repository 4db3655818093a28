/**
 * Free-function forms of the append path for callers that bring their own policy decision
 * (spec §16.3). The decision must carry PARITY_INVARIANT_RULE_ID; the ledger replaces that rule's
 * result with the one it computes from real evidence inside the writer lock.
 */
import type { EventInput, SealedEvent } from '../format/event.js';
import type { EventSigner } from '../format/signature.js';
import type { PolicyDecision } from '../policy/decision.js';
import type { Ledger } from './ledger.js';

export function appendEvent(ledger: Ledger, input: EventInput, decision: PolicyDecision): Promise<SealedEvent> {
  return ledger.append(input, { decision });
}

export function appendSignedEvent(
  ledger: Ledger,
  input: EventInput,
  signer: EventSigner,
  decision: PolicyDecision,
): Promise<SealedEvent> {
  return ledger.append(input, { decision, signer });
}
