// Child for the bounded-verify tests: verifies a ledger folder with the built library and prints
// {ms, maxRssMiB, problemCount, problems, defects, defectCount} as one JSON line, so the parent can
// bound this process's peak memory (resourceUsage().maxRSS) on adversarial input.
import { verifyLedger } from '../../../dist/index.js';

const [dir, workersArg] = process.argv.slice(2);
const started = performance.now();
const r = await verifyLedger({ dir }, { workers: Number(workersArg ?? 0) });
process.stdout.write(JSON.stringify({
  ms: Math.round(performance.now() - started),
  maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  problemCount: r.problemCount,
  problems: r.problems.length,
  firstProblem: r.problems[0] ?? null,
  defects: r.parity.jsonlDefects.length,
  defectCount: r.parity.jsonlDefectCount,
}) + '\n');
