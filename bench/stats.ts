/**
 * Small statistics and formatting helpers for the benchmark: medians,
 * percentiles and a plain-text table.
 */

/**
 * The `p`-th percentile of `values` (nearest-rank on the sorted copy, with
 * linear interpolation between neighbours). Unit: whatever `values` are in.
 * @param p percentile, 0–100.
 * @returns NaN for an empty list.
 */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = ((s.length - 1) * p) / 100;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** The median of `values` (same unit as the values); NaN for an empty list. */
export function median(values: number[]): number {
  return percentile(values, 50);
}

/**
 * Round to `digits` decimals for display and JSON (keeps numbers small and
 * readable). Unit unchanged.
 */
export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * Format a number of milliseconds for a table cell: 3 significant-ish digits
 * (`0.412`, `12.3`, `1234`).
 */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1) return ms.toFixed(3);
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

/**
 * Render rows as a left-aligned text table with a header rule. Every cell is
 * converted with `String()`; numbers are right-aligned.
 */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || /^[\d.,×x%-]+$/.test(String(r[i]))));
  const line = (r: string[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/**
 * Time one async call with `performance.now()`.
 * @returns the call's value and the elapsed wall time in milliseconds.
 */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}
