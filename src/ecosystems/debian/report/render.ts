/**
 * The Debian section reports: the pages piuparts-report writes for a
 * section (piuparts 1.1.7's piuparts-report, in Kiln's site layout), and
 * the cross-section index. Pages are Eta templates in `templates/` next to
 * this module, rendered inside the site's `layout.eta` and linking the
 * site's `style.css`; every link is relative, so the output works under any
 * URL prefix.
 *
 * Files of one section, all under `debian/<section>/`:
 * - `index.html` (header, counts per state with shares, history chart),
 *   `counts.txt`, `states.svg`, `summary.json`, `states.json`;
 * - `state-<state>.html` for every state, `pass.html`, `fail.html`,
 *   `untestable.html` (logs per kind);
 * - `pkg/<name>.html` per binary package;
 * - `source/<name>.html` and `source/index.html`;
 * - `maintainer/<address>.html` and `maintainer/index.html`;
 * - `problems/<id>.html`, `problems/index.html`, `problems/unclassified.html`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import { KILN_VERSION } from '../../../version.ts';
import { formatDuration } from '../../../site/render.ts';
import { rootFrom } from '../../../site/paths.ts';
import type { RepositoryFiles } from '../../types.ts';
import { ACTIVE_STATES, OBSOLETE_STATES, PACKAGE_STATES, type PackageState } from '../state-names.ts';
import { historyChartSvg } from './chart.ts';
import type { KnownProblem, ReportPackage, SectionReport } from './model.ts';
import { maintainerPage, packageAnchor, packagePage, parsePerson, problemPage, sectionDir, sourcePage, statePage } from './paths.ts';
import { countsTxt, formatSummaryJson, historyRows, mergeSummaries, sectionSummary, statesJson, type PiupartsSummary } from './summary.ts';
import { blockerView, buildSectionView, byBlocking, links, percent, problemsOf, stateClass, type SectionView } from './view.ts';

const eta = new Eta({ views: fileURLToPath(new URL('./templates/', import.meta.url)), autoEscape: true, cache: true });
// The site's layout, and the partials (`templates/_<name>.eta`, included as
// `@<name>`) without their final newline, so they can sit inside a line.
eta.loadTemplate('@layout', readFileSync(new URL('../../../site/templates/layout.eta', import.meta.url), 'utf8'));
for (const name of ['blocker', 'nav', 'person', 'result', 'source-block']) {
  eta.loadTemplate(`@${name}`, readFileSync(new URL(`./templates/_${name}.eta`, import.meta.url), 'utf8').trimEnd());
}

/** What each state means, for its page (piuparts' states, in Kiln's words). */
export const STATE_DESCRIPTIONS: Record<PackageState, string> = {
  'successfully-tested': 'The package installs, upgrades where tested, removes and purges cleanly.',
  'failed-testing': 'The latest test of this version failed; its log says why.',
  'cannot-be-tested': 'The package could not be tested, for example because the version is not the one in the archive.',
  'essential-required': 'The package is essential or required and is not tested on its own.',
  'waiting-to-be-tested': 'Every dependency passed; the package waits for a worker.',
  'waiting-for-dependency-to-be-tested': 'A dependency has not been tested yet; the package is tested after it.',
  'dependency-failed-testing': 'A dependency failed its test, so this package is not tested until it is fixed.',
  'dependency-cannot-be-tested': 'A dependency cannot be tested, so neither can this package.',
  'dependency-does-not-exist': 'A dependency is not in the archive, so the package cannot be installed.',
  'circular-dependency': 'The package is part of a dependency cycle.',
  unknown: 'The state could not be worked out (for example a dependency whose own state is unknown).',
  'unknown-preferred-alternative': 'The preferred alternative of a dependency is in an unknown state.',
  'no-dependency-from-alternatives-exists': 'None of the alternatives of a dependency exists.',
  outdated: 'A newer version of the package is in the archive or a depended-on section.',
};

/** The log pages, as piuparts-report's pages per log directory (title_by_dir, desc_by_dir). */
const LOG_PAGES: Array<{ kind: 'pass' | 'fail' | 'untestable'; state: PackageState; heading: string; about: string }> = [
  { kind: 'pass', state: 'successfully-tested', heading: 'Passed logs', about: 'Logs of packages that passed their test.' },
  { kind: 'fail', state: 'failed-testing', heading: 'Failed logs', about: 'Logs of packages that failed their test.' },
  { kind: 'untestable', state: 'cannot-be-tested', heading: 'Untestable logs', about: 'Logs of packages that could not be tested.' },
];

/** `1 package`, `2 packages`. */
function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function render(template: string, title: string, root: string, generatedAt: string, data: object): string {
  return eta.render(template, { ...data, title, root, generatedAt, kilnVersion: KILN_VERSION, debianNav: true, anchor: packageAnchor, stateClass, plural });
}

/** A page of the section, `path` relative to the section folder. */
function sectionPage(files: RepositoryFiles, view: SectionView, path: string, template: string, title: string, data: object): void {
  const dir = sectionDir(view.report.section);
  const depth = path.split('/').length - 1;
  const root = rootFrom(dir) + '../'.repeat(depth);
  const l = links(view, root, depth);
  const html = render(template, `${title} · ${view.report.section}`, root, view.report.generated, { ...data, r: view.report, v: view, l });
  files.set(dir + path, { content: html });
}

/** piuparts' get_command(): the grep pipeline that finds a problem's lines. */
function grepCommand(p: KnownProblem): string {
  const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  return `grep -E ${q(p.pattern)}${p.excludePattern ? ` | grep -v -E ${q(p.excludePattern)}` : ''}`;
}

function countKind(list: readonly ReportPackage[] | undefined, kinds: ReadonlyArray<string>): number {
  return (list ?? []).filter((p) => p.result && kinds.includes(p.result.kind)).length;
}

function indexPage(files: RepositoryFiles, view: SectionView, summary: PiupartsSummary | null, chart: string): void {
  const l = links(view, '', 0);
  const states = view.listedStates.map((state) => {
    const logPage = LOG_PAGES.find((x) => x.state === state);
    const problems: Array<{ href: string; header: string; count: number }> = [];
    if (state === 'failed-testing' || state === 'successfully-tested') {
      const issues = state === 'successfully-tested';
      for (const p of view.report.problems) {
        const count = countKind(view.affected.get(p.id), issues ? ['pass'] : ['fail']);
        if (p.issue === issues && count > 0) problems.push({ href: l.problem(p.id), header: p.header, count });
      }
      if (!issues && view.unclassified.length) problems.push({ href: 'problems/unclassified.html', header: 'unclassified failures', count: view.unclassified.length });
    }
    return {
      state,
      href: statePage(state),
      cls: stateClass(state),
      count: view.counts[state],
      pct: percent(view.counts[state], view.total),
      logs: logPage ? `${logPage.kind}.html` : null,
      logsLabel: logPage?.kind,
      problems,
    };
  });
  sectionPage(files, view, 'index.html', './section-index', 'Statistics', { states, chart, hasSummary: summary !== null });
}

/**
 * Every file of one section's report, paths relative to the output root,
 * all under `debian/<section>/` (see the module comment for the list).
 * Pages show the report's `generated` time; nothing depends on the clock.
 *
 * @param report the section as the master computed it; `report.section`
 *   must be a valid section name (it becomes a folder).
 * @returns HTML pages, counts.txt (piuparts' format), states.svg,
 *   summary.json (piuparts' format, left out when `jsonSections` is
 *   `['none']`) and states.json (Kiln's).
 */
export function renderSectionReport(report: SectionReport): RepositoryFiles {
  const files: RepositoryFiles = new Map();
  const view = buildSectionView(report);
  const dir = sectionDir(report.section);
  const rows = historyRows(report);
  const chart = historyChartSvg(rows, `Binary packages per state in ${report.section}`);
  const summary = sectionSummary(report);
  files.set(`${dir}counts.txt`, { content: countsTxt(rows) });
  files.set(`${dir}states.svg`, { content: `<?xml version="1.0" encoding="UTF-8"?>\n${chart}\n` });
  files.set(`${dir}states.json`, { content: statesJson(report) });
  if (summary) files.set(`${dir}summary.json`, { content: formatSummaryJson(summary) });
  indexPage(files, view, summary, chart);

  const inState = new Map<PackageState, ReportPackage[]>(PACKAGE_STATES.map((s) => [s, []]));
  for (const p of report.packages) inState.get(p.state)!.push(p);
  for (const state of PACKAGE_STATES) {
    const l = links(view, '', 0);
    const entries = inState
      .get(state)!
      .sort(byBlocking)
      .map((p) => ({ p, maintainer: parsePerson(p.maintainer), blocker: blockerView(view, p, l) }));
    sectionPage(files, view, statePage(state), './state', `State ${state}`, { state, entries, about: STATE_DESCRIPTIONS[state], obsolete: OBSOLETE_STATES.has(state) });
  }
  for (const lp of LOG_PAGES) {
    const entries = report.packages.filter((p) => p.result?.kind === lp.kind).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    sectionPage(files, view, `${lp.kind}.html`, './logs', lp.heading, { ...lp, entries });
  }

  for (const p of report.packages) {
    const l = links(view, '', 1);
    sectionPage(files, view, packagePage(p.name), './package', p.name, {
      p,
      maintainer: parsePerson(p.maintainer),
      uploaders: p.uploaders.map(parsePerson),
      blocker: blockerView(view, p, l),
      problems: problemsOf(view, p, l),
      formatDuration,
    });
  }
  for (const s of view.sources) sectionPage(files, view, sourcePage(s.name), './source', `Source ${s.name}`, { s });
  sectionPage(files, view, 'source/index.html', './sources', 'Source packages', {});
  for (const m of view.maintainers) sectionPage(files, view, maintainerPage(m.slug), './maintainer', m.email, { m });
  sectionPage(files, view, 'maintainer/index.html', './maintainers', 'Maintainers', {});

  for (const p of report.problems) {
    sectionPage(files, view, problemPage(p.id), './problem', p.header, { problem: p, command: grepCommand(p), entries: view.affected.get(p.id) ?? [] });
  }
  sectionPage(files, view, 'problems/unclassified.html', './problem', 'Unclassified failures', { problem: null, command: '', entries: view.unclassified });
  const row = (p: KnownProblem): { p: KnownProblem; count: number } => ({ p, count: view.affected.get(p.id)?.length ?? 0 });
  const groups = [
    { title: 'Errors (why tests fail)', rows: report.problems.filter((p) => !p.issue && !p.infrastructure).map(row) },
    { title: 'Issues (found in logs, not fatal)', rows: report.problems.filter((p) => p.issue).map(row) },
    { title: 'Infrastructure (results dropped and tested again)', rows: report.problems.filter((p) => !p.issue && p.infrastructure).map(row) },
  ].filter((g) => g.rows.length);
  sectionPage(files, view, 'problems/index.html', './problems', 'Known problems', { groups });
  return files;
}

/**
 * The cross-section files: `debian/index.html`, listing every section with
 * its description and counts per active state (with shares of its total),
 * in the order given; and `debian/summary.json`, every section's
 * summary.json merged as piuparts-report's generate_global_summary() does
 * (by precedence, each entry under its reporting section and `overall`).
 *
 * @param reports the sections, in the order the index lists them.
 */
export function renderDebianIndex(reports: readonly SectionReport[]): RepositoryFiles {
  const files: RepositoryFiles = new Map();
  const generated = reports.map((r) => r.generated).sort().at(-1) ?? new Date().toISOString();
  const sections = reports.map((r) => {
    const view = buildSectionView(r);
    const dir = `${r.section}/`;
    return {
      name: r.section,
      href: `${dir}index.html`,
      description: view.description,
      total: view.total,
      cells: ACTIVE_STATES.map((s) => ({ count: view.counts[s], pct: percent(view.counts[s], view.total), href: dir + statePage(s) })),
    };
  });
  files.set('debian/index.html', { content: render('./debian-index', 'Debian', '../', generated, { sections, states: ACTIVE_STATES }) });
  const summaries = reports.flatMap((r) => {
    const summary = sectionSummary(r);
    return summary ? [{ summary, precedence: r.precedence ?? 1 }] : [];
  });
  files.set('debian/summary.json', { content: formatSummaryJson(mergeSummaries(summaries, generated)) });
  return files;
}
