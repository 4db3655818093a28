/**
 * Hand-built scenarios for the deterministic crash enumerations (the random ones come from
 * scenarioArb in fuzz/lib/sim-crash.mjs, which has the same shape).
 */
export type Kind = 'process' | 'power';

export interface Item {
  kind: string;
  payload: unknown;
  actor?: string;
  explicitId: boolean;
}

/** `n` ordinary events; every third one without an explicit id. */
export function items(n: number, tag: string): Item[] {
  return Array.from({ length: n }, (_, i) => ({
    kind: i % 2 ? 'doc.edit' : 'user.login',
    payload: { tag, i, text: 'é✓'.repeat(i % 4) },
    ...(i % 3 === 1 ? { actor: 'alice' } : {}),
    explicitId: i % 3 !== 2,
  }));
}

export function crash(plan: object | undefined, kind: Kind, rngSeed = 1, sqliteBack = 0) {
  return { plan: plan ?? { at: 'idle' }, kind, victim: 0, rngSeed, sqliteBack };
}
