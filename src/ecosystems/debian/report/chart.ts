/**
 * The history chart of a section: binary packages per state per day, as
 * stacked areas in an SVG Kiln writes itself (piuparts-report draws a
 * stacked bar plot with R into states.png). The same SVG is inlined in the
 * section's index page and written as `states.svg`.
 */
import { OBSOLETE_STATES, PACKAGE_STATES, type PackageState } from '../state-names.ts';
import type { CountsRow } from './model.ts';

/** The colour of each state, in piuparts' order (piuparts-report's Tango palette for states.png). */
export const STATE_COLOURS: Record<PackageState, string> = Object.fromEntries(
  PACKAGE_STATES.map((s, i) => [s, ['#4e9a06', '#ef2929', '#d3d7cf', '#5c3566', '#c4a000', '#fce94f', '#a40000', '#888a85', '#2e3436', '#729fcf', '#3465a4', '#204a87', '#555753', '#ce5c00'][i]!]),
) as Record<PackageState, string>;

/** Most days drawn; longer histories are sampled evenly (first and last day kept). */
export const MAX_CHART_POINTS = 400;

const WIDTH = 800;
const PLOT = { left: 56, right: 12, top: 28, height: 240 };
const LEGEND_ROW = 18;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A round step (1, 2 or 5 × 10^k) near `x`. */
function niceStep(x: number): number {
  if (x <= 1) return 1;
  const k = 10 ** Math.floor(Math.log10(x));
  const f = x / k;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * k;
}

function sample<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return [...xs];
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(xs[Math.round((i * (xs.length - 1)) / (max - 1))]!);
  return out;
}

const r1 = (v: number): string => String(Math.round(v * 10) / 10);

/**
 * The chart as an `<svg>` element (with its xmlns, so it also stands alone
 * as a file).
 *
 * @param rows days in order (`YYYY-MM-DD`), each with counts per state.
 * @param title drawn above the plot and used as the SVG's accessible name;
 *   escaped here.
 * @returns SVG markup: one stacked area per state that ever had packages,
 *   bottom to top in piuparts' state order, a y axis in packages, first,
 *   last and a few middle days on the x axis, and a legend (obsolete states
 *   in parentheses, as piuparts shows them). With no rows, a plot that
 *   says so.
 */
export function historyChartSvg(rows: readonly CountsRow[], title: string): string {
  const days = sample(rows, MAX_CHART_POINTS);
  const states = PACKAGE_STATES.filter((s) => days.some((d) => (d.counts[s] ?? 0) > 0));
  const legendRows = Math.ceil(states.length / 3);
  const height = PLOT.top + PLOT.height + 30 + legendRows * LEGEND_ROW + 6;
  const plotW = WIDTH - PLOT.left - PLOT.right;
  const bottom = PLOT.top + PLOT.height;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${esc(title)}" style="max-width:100%;height:auto;font:12px sans-serif">`);
  parts.push(`<title>${esc(title)}</title>`);
  parts.push(`<text x="${WIDTH / 2}" y="16" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  const totals = days.map((d) => states.reduce((sum, s) => sum + (d.counts[s] ?? 0), 0));
  const max = Math.max(0, ...totals);
  const step = niceStep(max / 4);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const y = (v: number): number => bottom - (v / top) * PLOT.height;
  const x = (i: number): number => (days.length <= 1 ? (i === 0 ? PLOT.left : PLOT.left + plotW) : PLOT.left + (i * plotW) / (days.length - 1));
  for (let v = 0; v <= top; v += step) {
    parts.push(`<line x1="${PLOT.left}" x2="${PLOT.left + plotW}" y1="${r1(y(v))}" y2="${r1(y(v))}" stroke="#ddd"/>`);
    parts.push(`<text x="${PLOT.left - 4}" y="${r1(y(v) + 4)}" text-anchor="end">${v}</text>`);
  }
  if (days.length === 0) {
    parts.push(`<text x="${PLOT.left + plotW / 2}" y="${PLOT.top + PLOT.height / 2}" text-anchor="middle" fill="#777">no history yet</text>`);
  } else {
    // One point per day; a single day is drawn across the whole width.
    const xs = days.length === 1 ? [x(0), x(1)] : days.map((_, i) => x(i));
    const at = (i: number): CountsRow => days[days.length === 1 ? 0 : i]!;
    const lower = xs.map(() => 0);
    for (const s of states) {
      const upper = lower.map((l, i) => l + (at(i).counts[s] ?? 0));
      const pts = [...xs.map((px, i) => `${r1(px)},${r1(y(upper[i]!))}`), ...xs.map((px, i) => `${r1(px)},${r1(y(lower[i]!))}`).reverse()];
      parts.push(`<polygon points="${pts.join(' ')}" fill="${STATE_COLOURS[s]}"><title>${esc(s)}</title></polygon>`);
      for (let i = 0; i < lower.length; i++) lower[i] = upper[i]!;
    }
    const labels = new Set([0, days.length - 1]);
    const ticks = Math.min(4, days.length - 2);
    for (let k = 1; k <= ticks; k++) labels.add(Math.round((k * (days.length - 1)) / (ticks + 1)));
    for (const i of [...labels].sort((a, b) => a - b)) {
      const px = days.length === 1 ? PLOT.left + plotW / 2 : x(i);
      const anchor = days.length === 1 ? 'middle' : i === 0 ? 'start' : i === days.length - 1 ? 'end' : 'middle';
      parts.push(`<text x="${r1(px)}" y="${bottom + 16}" text-anchor="${anchor}">${esc(days[i]!.day)}</text>`);
    }
  }
  parts.push(`<line x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${bottom}" stroke="#555"/>`);
  parts.push(`<line x1="${PLOT.left}" x2="${PLOT.left + plotW}" y1="${bottom}" y2="${bottom}" stroke="#555"/>`);
  states.forEach((s, k) => {
    const lx = PLOT.left + (k % 3) * (plotW / 3);
    const ly = bottom + 30 + Math.floor(k / 3) * LEGEND_ROW;
    const label = OBSOLETE_STATES.has(s) ? `(${s})` : s;
    parts.push(`<rect x="${r1(lx)}" y="${ly}" width="12" height="12" fill="${STATE_COLOURS[s]}"/><text x="${r1(lx + 16)}" y="${ly + 10}">${esc(label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
