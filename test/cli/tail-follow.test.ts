// spec §15.1.4, §21.3: tail --follow prints only durable, verified events.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signEvent } from '../../src/format/signature.js';
import { canonicalize } from '../../src/format/canonical.js';
import { parseEventLine } from '../../src/format/event-line.js';
import { sealEvent } from '../../src/format/seal.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { cliSpawn, ensureBuilt, lines, waitFor } from './cli-harness.js';
import { type Fixture, jsonlLines, signedLedger } from './fixtures.js';

beforeAll(ensureBuilt);
const fixtures: Fixture[] = [];
afterEach(() => fixtures.splice(0).forEach((f) => f.cleanup()));

describe('tail --follow', () => {
  it('waits for a line a crashed writer left unsynced until an open makes it durable', async () => {
    const f = await signedLedger(3, 'sl-cli-tailf-');
    fixtures.push(f);
    const t = cliSpawn(['tail', f.dir, '-n', '1', '--follow', '--interval', '20']);
    try {
      await waitFor(() => lines(t.stdout()).length === 1, 'the last line');
      const writer = await Ledger.open({ dir: f.dir, signer: f.key, projectionLagMs: 0 });
      const live = await writer.append({ kind: 'live', payload: 0 });
      await writer.close();
      await waitFor(() => lines(t.stdout()).length === 2, 'the durable event');
      expect(parseEventLine(lines(t.stdout())[1]!).event.hash).toBe(live.hash);
      const pending = signEvent(sealEvent({ kind: 'late', payload: 1 }, { seq: 4, prev: live.hash }), f.key);
      fs.appendFileSync(path.join(f.dir, 'events.jsonl'), canonicalize(pending) + '\n');
      await new Promise((r) => setTimeout(r, 1000));
      expect(lines(t.stdout())).toHaveLength(2);
      await (await Ledger.open({ dir: f.dir })).close(); // reconcile: fsync, replay, commit
      await waitFor(() => lines(t.stdout()).length === 3, 'the now durable line');
      expect(lines(t.stdout())[2]).toBe(canonicalize(pending));
      expect(jsonlLines(f.dir).at(-1)).toBe(canonicalize(pending));
    } finally {
      t.child.kill('SIGTERM');
      await t.done;
    }
  });
});
