/**
 * What an events row must hold given its JSONL line (spec §8.1): every column is derived from the
 * line and its offset, so a hand edit of any column, not only `line`, is a difference. The writer
 * (reconcile) and the auditor (parity) share it: both must mean the same by "the row differs".
 */
import type { EventsTable } from './schema.js';

export type EventsRow = EventsTable;

const DERIVED: (keyof EventsRow)[] = ['id', 'at', 'kind', 'actor', 'hash', 'kid', 'offset'];

/**
 * Names of the row's columns that disagree with `line` at `offset`: the differing top-level
 * fields of the event when `line` itself differs, and `column:<name>` for a derived column.
 */
export function rowDifferences(row: EventsRow, line: string, offset: number, parsedLine?: Record<string, unknown>): string[] {
  let expected: Record<string, unknown>;
  try {
    // A caller that already parsed `line` passes the object: parity reads millions of lines.
    expected = parsedLine ?? (JSON.parse(line) as Record<string, unknown>);
  } catch {
    return ['line'];
  }
  const out: string[] = [];
  if (row.line !== line) out.push(...lineFields(line, row.line));
  const derived: Omit<EventsRow, 'seq' | 'line'> = {
    id: String(expected.id),
    at: String(expected.at),
    kind: String(expected.kind),
    actor: typeof expected.actor === 'string' ? expected.actor : null,
    hash: String(expected.hash),
    kid: typeof (expected.sig as { kid?: unknown } | undefined)?.kid === 'string' ? (expected.sig as { kid: string }).kid : null,
    offset,
  };
  for (const c of DERIVED) if (row[c] !== derived[c as keyof typeof derived]) out.push(`column:${c}`);
  return out;
}

function lineFields(a: string, b: string): string[] {
  try {
    const x = JSON.parse(a) as Record<string, unknown>;
    const y = JSON.parse(b) as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])].sort();
    const differing = keys.filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]));
    return differing.length > 0 ? differing : ['line'];
  } catch {
    return ['line'];
  }
}
