/**
 * The library under test as the crash and fuzz suites see it in vitest: the TypeScript sources,
 * shaped like fuzz/lib/library.mjs's view of dist/, so both run the same property code.
 */
import * as index from '../../src/index.js';
import * as testing from '../../src/testing.js';
import { JsonlFile } from '../../src/store/jsonl-file.js';
import { readInputLines } from '../../src/cli/stdin-events.js';
import type { Library } from '../../fuzz/lib/library.mjs';

export const srcLibrary: Library = {
  ...index,
  ...testing,
  JsonlFile,
  readInputLines,
  // verifyLedger's worker threads load compiled JavaScript; from the sources, verify in-thread.
  verifyDefaults: { workers: 0 },
  // The signing threads too (spec §13.8): the compiled sign-worker.js (`npm test` builds first),
  // one thread, so signed batches of 64 or more stage their rows as with the built library.
  ledgerDefaults: { signingThreads: 1, signWorkerUrl: new URL('../../dist/ledger/sign-worker.js', import.meta.url) },
};
