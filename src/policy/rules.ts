/**
 * User policies (spec §16.1): ordered lists of rules, each judging one sealed event. A rule that
 * throws is a bug in the policy, so the append fails with that error rather than guessing.
 */
import type { SealedEvent } from '../format/event.js';
import { combine, type PolicyDecision, type PolicyOutcome, type RuleResult } from './decision.js';

export interface PolicyRule {
  id: string;
  evaluate(event: SealedEvent): PolicyOutcome | { outcome: PolicyOutcome; reason?: string };
}

export type Policy = readonly PolicyRule[];

/** Evaluate every rule in order, then add the ledger's own parity result. */
export function decide(policy: Policy, event: SealedEvent, parity: RuleResult): PolicyDecision {
  const results: RuleResult[] = [];
  for (const rule of policy) {
    const r = rule.evaluate(event);
    results.push(typeof r === 'string' ? { id: rule.id, outcome: r } : { id: rule.id, ...r });
  }
  results.push(parity);
  return combine(results);
}

/** Reject events whose kind is not listed. */
export function allowKinds(kinds: Iterable<string>, id = 'allow-kinds'): PolicyRule {
  const set = new Set(kinds);
  return {
    id,
    evaluate: (e) => (set.has(e.kind) ? 'allow' : { outcome: 'reject', reason: `kind ${e.kind} is not allowed` }),
  };
}

/** Reject events whose actor is missing or not listed. */
export function allowActors(actors: Iterable<string>, id = 'allow-actors'): PolicyRule {
  const set = new Set(actors);
  return {
    id,
    evaluate: (e) =>
      e.actor !== undefined && set.has(e.actor) ? 'allow' : { outcome: 'reject', reason: `actor ${e.actor ?? '(none)'} is not allowed` },
  };
}

/** Quarantine (or reject) events of `kind` whose payload fails `check`; check returns a reason or null. */
export function payloadRule(
  id: string,
  kind: string | null,
  check: (payload: SealedEvent['payload']) => string | null,
  onFail: Exclude<PolicyOutcome, 'allow'> = 'reject',
): PolicyRule {
  return {
    id,
    evaluate(e) {
      if (kind !== null && e.kind !== kind) return 'allow';
      const reason = check(e.payload);
      return reason === null ? 'allow' : { outcome: onFail, reason };
    },
  };
}

/** Reject unsigned events. */
export function requireSignature(id = 'require-signature'): PolicyRule {
  return { id, evaluate: (e) => (e.sig ? 'allow' : { outcome: 'reject', reason: 'event is not signed' }) };
}
