/**
 * The machine-readable files of the report: piuparts' summary.json
 * (piupartslib/pkgsummary.py and piuparts-report's generate_summary() and
 * generate_global_summary(), piuparts 1.1.7), piuparts' counts.txt
 * (piuparts-report's write_counts_summary()), and Kiln's states.json.
 */
import { PACKAGE_STATES, type PackageState } from '../state-names.ts';
import type { CountsRow, SectionReport } from './model.ts';
import { sectionDir, sourcePage } from './paths.ts';

/** A summary.json flag: F failed, X blocked, W waiting, P passed, `-` unknown. */
export type SummaryFlag = 'F' | 'X' | 'W' | 'P' | '-';

/** One entry of summary.json: the flag, how many packages it blocks (failed only), and the source page's URL. */
export type SummaryEntry = [SummaryFlag, number, string];

/** summary.json: results per source package, per reporting section (piuparts' json-sections, plus `overall` in the global file). */
export interface PiupartsSummary {
  _id: 'Piuparts Package Test Results Summary';
  _version: '1.0';
  /** Like `Wed Feb 26 01:48:43 UTC 2014` (Python's ctime() with `UTC` before the year). */
  _date: string;
  _comment: string;
  _type: 'source';
  /** source package → reporting section → entry. */
  packages: Record<string, Record<string, SummaryEntry>>;
}

/** Lower is worse; the worst flag of a source's binaries is the source's. */
const FLAG_PRIORITY: Record<SummaryFlag, number> = { F: 0, X: 1, W: 2, P: 3, '-': 4 };

const FLAG_OF_STATE: Partial<Record<PackageState, SummaryFlag>> = {
  'failed-testing': 'F',
  'cannot-be-tested': 'X',
  'dependency-failed-testing': 'X',
  'dependency-cannot-be-tested': 'X',
  'dependency-does-not-exist': 'X',
  'waiting-to-be-tested': 'W',
  'waiting-for-dependency-to-be-tested': 'W',
  'essential-required': 'P',
  'successfully-tested': 'P',
  unknown: '-',
};

/**
 * The summary flag of a package state, as pkgsummary.get_flag(). States
 * piuparts has no flag for (`outdated` and the obsolete ones, where
 * piuparts raises) get `-`.
 */
export function stateFlag(state: PackageState): SummaryFlag {
  return FLAG_OF_STATE[state] ?? '-';
}

/** Python's `datetime.utcnow().ctime()` with `UTC` before the year, from an ISO 8601 time. */
export function summaryDate(iso: string): string {
  const d = new Date(iso);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  const time = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${d.getUTCDate()} ${time} UTC ${d.getUTCFullYear()}`;
}

/** A new, empty summary dated `iso`. */
export function newSummary(iso: string): PiupartsSummary {
  return {
    _id: 'Piuparts Package Test Results Summary',
    _version: '1.0',
    _date: summaryDate(iso),
    _comment: "Kiln's Debian package test results, in the format of piuparts' summary.json (piupartslib/pkgsummary.py)",
    _type: 'source',
    packages: {},
  };
}

/**
 * Add one result, as pkgsummary.add_summary(): the entry keeps the worst
 * flag (and its URL; the first one on a tie) and the highest block count.
 */
export function addToSummary(summary: PiupartsSummary, reportingSection: string, source: string, flag: SummaryFlag, blocked: number, url: string): void {
  const bySection = (summary.packages[source] ??= {});
  const old = bySection[reportingSection];
  if (!old) {
    bySection[reportingSection] = [flag, blocked, url];
    return;
  }
  const count = Math.max(blocked, old[1]);
  bySection[reportingSection] = FLAG_PRIORITY[flag] < FLAG_PRIORITY[old[0]] ? [flag, count, url] : [old[0], count, old[2]];
}

/** The site's base URL with exactly one trailing `/`. */
function base(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * A section's summary.json, or null when its json-sections are `none`.
 * Each binary package counts toward its source; the block count is only
 * given for failed packages; the URL is the source's page in this report.
 */
export function sectionSummary(report: SectionReport): PiupartsSummary | null {
  const reporting = report.jsonSections?.length ? report.jsonSections : [report.section];
  if (reporting[0] === 'none') return null;
  const summary = newSummary(report.generated);
  const packages = [...report.packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const rs of reporting) {
    for (const p of packages) {
      const flag = stateFlag(p.state);
      const url = `${base(report.baseUrl)}${sectionDir(report.section)}${sourcePage(p.source)}`;
      addToSummary(summary, rs, p.source, flag, flag === 'F' ? p.blocking : 0, url);
    }
  }
  return summary;
}

/**
 * The global summary.json, as generate_global_summary() and
 * pkgsummary.merge_summary(): sections in order of precedence (lower
 * first, then as given), each entry added under its own reporting section
 * and under `overall`.
 */
export function mergeSummaries(sections: Array<{ summary: PiupartsSummary; precedence: number }>, iso: string): PiupartsSummary {
  const global = newSummary(iso);
  const ordered = sections.map((s, i) => ({ ...s, i })).sort((a, b) => a.precedence - b.precedence || a.i - b.i);
  for (const { summary } of ordered) {
    for (const [source, bySection] of Object.entries(summary.packages)) {
      for (const [rs, [flag, blocked, url]] of Object.entries(bySection)) {
        addToSummary(global, rs, source, flag, blocked, url);
        addToSummary(global, 'overall', source, flag, blocked, url);
      }
    }
  }
  return global;
}

/** Recursively sort object keys, as Python's `json.dump(sort_keys=True)`. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/**
 * summary.json text exactly as piuparts writes it: `json.dump(sort_keys=True,
 * indent=1)`, non-ASCII escaped as `\uXXXX`, no final newline.
 */
export function formatSummaryJson(summary: PiupartsSummary): string {
  return JSON.stringify(sortKeys(summary), null, 1).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** How many packages of the report are in each state (every state, 0 when none). */
export function currentCounts(report: SectionReport): Record<PackageState, number> {
  const counts = Object.fromEntries(PACKAGE_STATES.map((s) => [s, 0])) as Record<PackageState, number>;
  for (const p of report.packages) counts[p.state]++;
  return counts;
}

/**
 * The rows of the section's history, by day, with today's counts (the
 * report's `generated` day) added from its packages when the history has
 * no row for that day yet, as piuparts appends one per day.
 */
export function historyRows(report: SectionReport): CountsRow[] {
  const rows = [...report.history].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  const today = report.generated.slice(0, 10);
  if (!rows.some((r) => r.day === today)) rows.push({ day: today, counts: currentCounts(report) });
  return rows;
}

/**
 * counts.txt as piuparts-report writes it: a header `date, <state>, …` with
 * every state in piuparts' order (obsolete ones too, so columns stay
 * aligned), then one row per day, `YYYYMMDD, <count>, …`.
 */
export function countsTxt(rows: readonly CountsRow[]): string {
  let out = `date, ${PACKAGE_STATES.join(', ')}\n`;
  for (const r of rows) out += `${r.day.replace(/-/g, '')}, ${PACKAGE_STATES.map((s) => r.counts[s] ?? 0).join(', ')}\n`;
  return out;
}

/** One package in states.json. */
export interface StatesJsonPackage {
  name: string;
  version: string;
  state: PackageState;
  /** For blocked and waiting states: the dependency that decides, its state, and the provider it came from for a virtual name. */
  blocker: { dependency: string; state: string; via?: string } | null;
  /** How many packages wait on, or are blocked by, this one. */
  blocking: number;
}

/**
 * Kiln's states.json: `{ section, generated, indexDate, packages: [...] }`
 * with each package's name, version, state, blocker and blocking count,
 * sorted by name; compact, one package per line.
 */
export function statesJson(report: SectionReport): string {
  const packages: StatesJsonPackage[] = [...report.packages]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => ({ name: p.name, version: p.version, state: p.state, blocker: p.blocker ? { ...p.blocker } : null, blocking: p.blocking }));
  const head = JSON.stringify({ section: report.section, generated: report.generated, indexDate: report.indexDate });
  return `${head.slice(0, -1)},"packages":[\n${packages.map((p) => JSON.stringify(p)).join(',\n')}\n]}\n`;
}
