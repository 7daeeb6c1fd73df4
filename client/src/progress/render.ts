/**
 * How a progress bar looks: a text line (terminal, or a stream output in a notebook,
 * redrawn in place with `\r`) and an HTML block (a notebook display updated in place).
 * Pure functions of the counts.
 */
export interface ProgressCounts {
  /** Futures (tasks) followed. */
  total: number;
  /** Finished without error. */
  finished: number;
  /** Failed: the task threw, or was cancelled or lost. */
  erred: number;
  /** Milliseconds since progress() started. */
  elapsedMs: number;
}

export function percentOf(counts: ProgressCounts): number {
  const done = counts.finished + counts.erred;
  return counts.total === 0 ? 100 : Math.floor((100 * done) / counts.total);
}

function seconds(ms: number): string {
  return ms < 60_000
    ? `${(ms / 1000).toFixed(1)} s`
    : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** `[########------------] 40% | 12/30 tasks | 1 erred | 3.2 s` */
export function progressLine(counts: ProgressCounts, width: number): string {
  const done = counts.finished + counts.erred;
  const filled = counts.total === 0 ? width : Math.floor((width * done) / counts.total);
  const bar = "#".repeat(filled) + "-".repeat(width - filled);
  const erred = counts.erred > 0 ? ` | ${counts.erred} erred` : "";
  return `[${bar}] ${String(percentOf(counts)).padStart(3)}% | ${done}/${counts.total} tasks${erred} | ${seconds(counts.elapsedMs)}`;
}

/** The same as an HTML block: a bar (green, the erred share red) and the counts. */
export function progressHtml(counts: ProgressCounts, label: string): string {
  const total = Math.max(counts.total, 1);
  const ok = (100 * counts.finished) / total;
  const bad = (100 * counts.erred) / total;
  const erred =
    counts.erred > 0 ? ` · <span style="color:#c62828">${counts.erred} erred</span>` : "";
  const escaped = label.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return (
    `<div style="font-family:monospace;font-size:12px">` +
    `<div style="display:flex;align-items:center;gap:8px">` +
    `<span>${escaped}</span>` +
    `<div style="width:300px;height:14px;background:#e0e0e0;border-radius:3px;overflow:hidden;display:flex">` +
    `<div style="width:${ok.toFixed(2)}%;background:#43a047"></div>` +
    `<div style="width:${bad.toFixed(2)}%;background:#c62828"></div></div>` +
    `<span>${percentOf(counts)}% · ${counts.finished + counts.erred}/${counts.total} tasks${erred} · ${seconds(counts.elapsedMs)}</span>` +
    `</div></div>`
  );
}
