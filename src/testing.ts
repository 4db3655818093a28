/**
 * Test-only helpers (the `sealed-ledger/testing` entry). Nothing here belongs in production code:
 * the allow decision vouches for nothing, and the crash seam exists to kill the writer.
 */
import { PARITY_INVARIANT_RULE_ID, type PolicyDecision } from './policy/decision.js';

/**
 * A decision that satisfies the mirror's parity gate, for tests and fixtures only. The ledger
 * still substitutes the parity result it computes from real evidence, so this cannot smuggle an
 * append past a real parity violation.
 */
export function mirrorPolicyDecisionTestAllow(): PolicyDecision {
  return {
    outcome: 'allow',
    rules: [{ id: PARITY_INVARIANT_RULE_ID, outcome: 'allow', reason: 'test-only allow decision' }],
  };
}

export { SimulatedCrash, type CrashHook, type CrashPoint } from './ledger/crash-points.js';
export { NODE_FILE_IO, type FileIO } from './store/file-io.js';
export { verifyEd25519Portable } from './crypto/ed25519-portable.js';
