// Judging rows against their targets and printing them as a Markdown table.
import os from 'node:os';

/**
 * A row may carry a second, stricter baseline (`strictBaseline`: { value, label }) measured in the
 * same run: the same work given an advantage the figure itself takes. A ratio target is met
 * only when the figure reaches it against both.
 */
export function judge(row) {
  const ratio = row.baseline ? row.figure / row.baseline : null;
  const strictRatio = row.strictBaseline ? row.figure / row.strictBaseline.value : null;
  const t = row.target;
  const met = t.kind === 'info' ? null : t.kind === 'ratio' ? ratio >= t.min && (strictRatio === null || strictRatio >= t.min) : t.kind === 'max' ? (t.value ?? row.figure) <= t.max : t.met;
  return { ...row, ratio, ...(strictRatio === null ? {} : { strictRatio }), met };
}

export function machine() {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    tmpdir: os.tmpdir(),
  };
}

const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : String(+x.toFixed(2)));

export function table(rows) {
  const out = [
    '| figure | measured | baseline (same run) | ratio | target | met | ceiling of the design (notes say which); of this implementation when lower |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const strict = r.strictBaseline ? `; ${fmt(r.strictBaseline.value)} ${r.baselineUnit} (${r.strictBaseline.label})` : '';
    const base = r.baseline == null ? '-' : `${fmt(r.baseline)} ${r.baselineUnit} (${r.baselineLabel})${strict}`;
    const ratio = r.ratio == null ? '-' : `${r.ratio.toFixed(2)}x${r.strictRatio == null ? '' : `; ${r.strictRatio.toFixed(2)}x`}`;
    const ceiling = r.ceiling ? `${r.ceiling.ratio.toFixed(2)}x${implementationBound(r.ceiling)}` : '-';
    out.push(`| ${r.title} | ${fmt(r.figure)} ${r.unit} | ${base} | ${ratio} | ${r.target.text} | ${r.met === null ? 'n/a' : r.met ? 'yes' : '**no**'} | ${ceiling} |`);
  }
  return out.join('\n');
}

/**
 * The lower of an append row's two implementation bounds, when it is below the design's ceiling:
 * its appending thread's CPU per event on a core of its own, or the process's on every core.
 */
function implementationBound(c) {
  const bounds = [
    c.appendingThread && { ratio: c.appendingThread.ratio, what: 'appending thread' },
    c.allCores && { ratio: c.allCores.ratio, what: `CPU on ${c.allCores.cores} cores` },
  ].filter((b) => b && b.ratio < c.ratio);
  if (bounds.length === 0) return '';
  const low = bounds.reduce((a, b) => (b.ratio < a.ratio ? b : a));
  return `; ${low.what} ${low.ratio.toFixed(2)}x`;
}

export function notes(rows) {
  return rows
    .map((r) => {
      const busy = r.load && Math.max(r.load.before, r.load.after) > os.availableParallelism() / 2 ? ' (machine busy: figures are noisy)' : '';
      const ceiling = r.ceiling ? `; ${ceilingNote(r.ceiling)}` : '';
      return `- ${r.id}: load ${r.load?.before}->${r.load?.after}${busy}; ${JSON.stringify(r.extra ?? {})}${ceiling}`;
    })
    .join('\n');
}

/**
 * What a ceiling assumes, in words, then its figures: a ceiling is an upper bound only under
 * its assumptions, so the note never prints the number without them.
 */
function ceilingNote(c) {
  const { ratio, design, order, assumes, ...figures } = c;
  const which = design ?? (order ? `${order} order` : undefined);
  const rest = Object.keys(figures).length ? `; ${JSON.stringify(figures)}` : '';
  return `ceiling ${ratio.toFixed(2)}x${which ? ` (${which})` : ''}${assumes ? `, assuming ${assumes}` : ''}${rest}`;
}
