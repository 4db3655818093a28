/**
 * Starts the files that run longest first, so that the workers finish together instead of one
 * running a long file alone at the end. vitest orders files by the durations of the last run on
 * this machine when it has them, and otherwise (a fresh clone, as in CI) by file size, which puts
 * the time-bounded crash and fault slices, small files, last.
 */
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The longest files of a CI run (about a minute or more each on two cores), longest first.
const LONGEST = [
  'test/crash/simulated-crash.test.ts',
  'test/collector/cli.test.ts',
  'test/ship/e2e/outage-kills.test.ts',
  'test/cli/trust.test.ts',
  'test/crash/kill.test.ts',
  'test/ship/e2e/witness.test.ts',
  'test/package/consumer.test.ts',
];

export default class LongFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = LONGEST.indexOf(path.relative(this.ctx.config.root, f.moduleId).split(path.sep).join('/'));
      return i < 0 ? LONGEST.length : i;
    };
    // Stable: within a group and outside the list, vitest's own order stands.
    const group = (f: TestSpecification) => f.project.config.sequence.groupOrder;
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => group(a.f) - group(b.f) || rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}
