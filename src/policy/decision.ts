/**
 * Policy decisions (spec §16): a final outcome plus every contributing rule. The mirror accepts
 * only `allow` decisions that carry the parity-invariant rule computed from real evidence.
 */
import { PolicyError } from '../errors.js';

export type PolicyOutcome = 'allow' | 'reject' | 'quarantine';

export interface RuleResult {
  id: string;
  outcome: PolicyOutcome;
  reason?: string;
}

export interface PolicyDecision {
  outcome: PolicyOutcome;
  rules: RuleResult[];
}

/** Rule id every mirrored append's decision must carry (spec §16.2). */
export const PARITY_INVARIANT_RULE_ID = 'sealed-ledger/parity-invariant';

const SEVERITY: Record<PolicyOutcome, number> = { allow: 0, quarantine: 1, reject: 2 };

/** The final outcome is the most severe contributing outcome (spec §16.1). */
export function combine(rules: RuleResult[]): PolicyDecision {
  let outcome: PolicyOutcome = 'allow';
  for (const r of rules) if (SEVERITY[r.outcome] > SEVERITY[outcome]) outcome = r.outcome;
  return { outcome, rules };
}

/**
 * Throws unless `decision` may enter the durable event set (spec §16.3): it must carry the
 * parity-invariant rule with outcome allow, and its final outcome must be allow.
 */
export function assertMirrorable(decision: PolicyDecision, where: Record<string, unknown> = {}): void {
  const parity = decision.rules.find((r) => r.id === PARITY_INVARIANT_RULE_ID);
  if (!parity) {
    throw new PolicyError('PARITY_RULE_MISSING', `decision lacks the ${PARITY_INVARIANT_RULE_ID} rule`, { details: where });
  }
  if (parity.outcome !== 'allow') {
    throw new PolicyError('PARITY_VIOLATION', `parity invariant does not hold: ${parity.reason ?? 'no reason given'}`, {
      details: { ...where, reason: parity.reason },
    });
  }
  // Every event of an append passes here: the reasons are put together only for a refusal.
  if (decision.outcome === 'allow') return;
  const blocking = decision.rules.filter((r) => r.outcome !== 'allow');
  const reasons = blocking.map((r) => `${r.id}${r.reason ? `: ${r.reason}` : ''}`).join('; ');
  if (decision.outcome === 'reject') {
    throw new PolicyError('POLICY_REJECTED', `rejected by policy (${reasons || 'final outcome reject'})`, {
      details: { ...where, rules: blocking },
    });
  }
  if (decision.outcome === 'quarantine') {
    throw new PolicyError('POLICY_QUARANTINED', `quarantined by policy (${reasons || 'final outcome quarantine'})`, {
      details: { ...where, rules: blocking },
    });
  }
  if (decision.outcome !== 'allow') {
    throw new PolicyError('POLICY_REJECTED', `unknown outcome ${JSON.stringify(decision.outcome)}`, { details: where });
  }
}
