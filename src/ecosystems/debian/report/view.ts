/**
 * What the section report's templates are given: a {@link SectionReport}
 * regrouped by source package, by maintainer and by known problem, with
 * piuparts-report's wording and orderings.
 */
import { compareDebianVersions } from '../version.ts';
import { ERROR_STATES, OBSOLETE_STATES, PACKAGE_STATES, WAITING_STATES, type PackageState } from '../state-names.ts';
import type { KnownProblem, ReportPackage, SectionReport } from './model.ts';
import { fromRoot, maintainerPage, packagePage, parsePerson, problemPage, sourcePage, statePage, type Person } from './paths.ts';
import { currentCounts } from './summary.ts';

/** A source package's overall result, as piuparts-report's source summaries: `fail`, `pass` or `unknown`. */
export type SourceState = 'fail' | 'pass' | 'unknown';

/** A source package and its binaries in the section. */
export interface SourceView {
  name: string;
  /** The highest source version its binaries were built from. */
  version: string;
  state: SourceState;
  maintainer: Person;
  uploaders: Person[];
  /** Sorted by name. */
  binaries: ReportPackage[];
  /** Binaries built from an older source version (piuparts' `[cruft]`). */
  cruft: Set<string>;
}

/** One maintainer or uploader address and what they look after. */
export interface MaintainerView {
  email: string;
  slug: string;
  /** The names the address was written with, in order of appearance. */
  names: string[];
  /** Sources in piuparts' order: failed, unknown, passed; by name within each. */
  sources: SourceView[];
  /** How many sources are in each state. */
  counts: Record<SourceState, number>;
}

/** Why a package waits or is blocked, ready to show. */
export interface BlockerView {
  /** `waiting for`, `blocked by` or `depends on`. */
  verb: string;
  dependency: string;
  /** The dependency's state when it was looked up. */
  state: string;
  /** The provider the state came from (a virtual dependency). */
  via?: string;
  /** The page of the package the state came from, relative to the section folder; null when it is not in the section. */
  href: string | null;
}

/** Everything the pages of a section share. */
export interface SectionView {
  report: SectionReport;
  description: string;
  byName: Map<string, ReportPackage>;
  /** Sorted by name. */
  sources: SourceView[];
  sourceByName: Map<string, SourceView>;
  /** Sorted by address. */
  maintainers: MaintainerView[];
  problemById: Map<string, KnownProblem>;
  /** Problem id → packages whose latest result shows it, most blocking first. */
  affected: Map<string, ReportPackage[]>;
  /** Failed results that match no known problem, most blocking first. */
  unclassified: ReportPackage[];
  counts: Record<PackageState, number>;
  total: number;
  /** States listed on the index: every active state, and obsolete ones that have packages. */
  listedStates: PackageState[];
}

/** Most blocking first, then by name: the order of state and problem pages. */
export function byBlocking(a: ReportPackage, b: ReportPackage): number {
  return b.blocking - a.blocking || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function byKey<T>(key: (x: T) => string): (a: T, b: T) => number {
  return (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
}

function compareVersions(a: string, b: string): number {
  try {
    return compareDebianVersions(a, b);
  } catch {
    return a < b ? -1 : a > b ? 1 : 0;
  }
}

/**
 * The section's description for its index page, as piuparts-report makes
 * it: the configured one; or, when empty, "Debian <distro> / <area>:
 * package installation, removal, and purge test." (with an upgrade path:
 * "Debian <area>: package installation in <first>, dist-upgrade to <next>,
 * …, removal, and purge test."); a configured text starting with `+` is
 * appended to that, one ending in `+` put before it.
 */
export function sectionDescription(r: SectionReport): string {
  const distros = r.upgradeTestDistros;
  const generated =
    distros.length > 1
      ? `Debian ${r.area}: package installation in ${distros[0]}${distros
          .slice(1)
          .map((d) => `, dist-upgrade to ${d}`)
          .join('')}, removal, and purge test.`
      : `Debian ${r.distro} / ${r.area}: package installation, removal, and purge test.`;
  const d = r.description;
  if (d.startsWith('+')) return `${generated} ${d.slice(1)}`;
  if (d.endsWith('+')) return `${d.slice(0, -1)} ${generated}`;
  return d || generated;
}

/** piuparts-report's source summary: pass when every binary passed, fail when one failed or cannot be tested, else unknown. */
function sourceState(binaries: readonly ReportPackage[]): SourceState {
  if (binaries.some((b) => b.state === 'failed-testing' || b.state === 'dependency-does-not-exist' || b.state === 'cannot-be-tested')) return 'fail';
  if (binaries.every((b) => b.state === 'successfully-tested' || b.state === 'essential-required')) return 'pass';
  return 'unknown';
}

const SOURCE_STATE_ORDER: Record<SourceState, number> = { fail: 0, unknown: 1, pass: 2 };

/** Regroup a section report for its pages. */
export function buildSectionView(report: SectionReport): SectionView {
  const byName = new Map(report.packages.map((p) => [p.name, p]));
  const bySource = new Map<string, ReportPackage[]>();
  for (const p of report.packages) {
    const list = bySource.get(p.source);
    if (list) list.push(p);
    else bySource.set(p.source, [p]);
  }
  const sources: SourceView[] = [...bySource.entries()].map(([name, bins]) => {
    const binaries = [...bins].sort(byKey((b) => b.name));
    const version = binaries.map((b) => b.sourceVersion).reduce((a, b) => (compareVersions(a, b) >= 0 ? a : b));
    // The newest binary speaks for the source's people.
    const lead = binaries.find((b) => b.sourceVersion === version) ?? binaries[0]!;
    return {
      name,
      version,
      state: sourceState(binaries),
      maintainer: parsePerson(lead.maintainer),
      uploaders: lead.uploaders.map(parsePerson),
      binaries,
      cruft: new Set(binaries.filter((b) => b.sourceVersion !== version).map((b) => b.name)),
    };
  });
  sources.sort(byKey((s) => s.name));
  const maintainers = new Map<string, MaintainerView>();
  for (const s of sources) {
    // Every binary's people, so each package page's maintainer link has a page.
    const people = [s.maintainer, ...s.uploaders, ...s.binaries.flatMap((b) => [b.maintainer, ...b.uploaders].map(parsePerson))];
    for (const person of people) {
      if (person.email === null || person.slug === null) continue;
      let m = maintainers.get(person.email);
      if (!m) {
        m = { email: person.email, slug: person.slug, names: [], sources: [], counts: { fail: 0, unknown: 0, pass: 0 } };
        maintainers.set(person.email, m);
      }
      if (person.name !== person.email && !m.names.includes(person.name)) m.names.push(person.name);
      if (!m.sources.includes(s)) {
        m.sources.push(s);
        m.counts[s.state]++;
      }
    }
  }
  for (const m of maintainers.values()) m.sources.sort((a, b) => SOURCE_STATE_ORDER[a.state] - SOURCE_STATE_ORDER[b.state] || (a.name < b.name ? -1 : 1));
  const affected = new Map<string, ReportPackage[]>(report.problems.map((p) => [p.id, []]));
  const unclassified: ReportPackage[] = [];
  for (const p of report.packages) {
    if (!p.result) continue;
    for (const id of p.result.problems) {
      const list = affected.get(id);
      if (list) list.push(p);
      else affected.set(id, [p]);
    }
    if (p.result.kind === 'fail' && p.result.problems.length === 0) unclassified.push(p);
  }
  for (const list of affected.values()) list.sort(byBlocking);
  unclassified.sort(byBlocking);
  const counts = currentCounts(report);
  return {
    report,
    description: sectionDescription(report),
    byName,
    sources,
    sourceByName: new Map(sources.map((s) => [s.name, s])),
    maintainers: [...maintainers.values()].sort(byKey((m) => m.email)),
    problemById: new Map(report.problems.map((p) => [p.id, p])),
    affected,
    unclassified,
    counts,
    total: report.packages.length,
    listedStates: PACKAGE_STATES.filter((s) => !OBSOLETE_STATES.has(s) || counts[s] > 0),
  };
}

/** A count as a share of the total, one decimal: `12.5%` (`0.0%` of nothing). */
export function percent(count: number, total: number): string {
  return `${total === 0 ? '0.0' : ((count * 100) / total).toFixed(1)}%`;
}

/**
 * Links as seen from one page: `sec` leads from the page's folder to the
 * section folder (`''` or `../`), `root` to the output root.
 */
export interface Links {
  root: string;
  sec: string;
  /** A package's page, or null when the section has no such package. */
  pkg(name: string): string | null;
  src(name: string): string;
  maint(slug: string): string;
  problem(id: string): string;
  state(state: string): string;
  /** A log or other output-root path (absolute URLs stay as they are). */
  out(path: string): string;
}

/** The links of a page `depth` folders below the section folder (0 for the section's own pages). */
export function links(view: SectionView, root: string, depth: number): Links {
  const sec = '../'.repeat(depth);
  return {
    root,
    sec,
    pkg: (name) => (view.byName.has(name) ? sec + packagePage(name) : null),
    src: (name) => sec + sourcePage(name),
    maint: (slug) => sec + maintainerPage(slug),
    problem: (id) => sec + problemPage(id),
    state: (state) => sec + statePage(state),
    out: (path) => fromRoot(root, path),
  };
}

/** The blocker of a package, ready to show, or null when it has none. */
export function blockerView(view: SectionView, p: ReportPackage, l: Links): BlockerView | null {
  if (!p.blocker) return null;
  const verb = WAITING_STATES.has(p.state) ? 'waiting for' : ERROR_STATES.has(p.state) ? 'blocked by' : 'depends on';
  const target = p.blocker.via ?? p.blocker.dependency;
  return { verb, dependency: p.blocker.dependency, state: p.blocker.state, via: p.blocker.via, href: l.pkg(target) };
}

/** The known problems of a package's latest result: id, title and page link (null for an id the report does not know). */
export function problemsOf(view: SectionView, p: ReportPackage, l: Links): Array<{ id: string; header: string; issue: boolean; href: string | null }> {
  return (p.result?.problems ?? []).map((id) => {
    const kp = view.problemById.get(id);
    return { id, header: kp?.header ?? id, issue: kp?.issue ?? false, href: kp ? l.problem(id) : null };
  });
}

/** The CSS class the site uses for a state's colour. */
export function stateClass(state: string): string {
  if (state === 'successfully-tested' || state === 'essential-required') return 'passed';
  if (state === 'failed-testing') return 'failed';
  if (ERROR_STATES.has(state as PackageState) || state === 'does-not-exist') return 'untestable';
  if (WAITING_STATES.has(state as PackageState)) return 'queued';
  return '';
}
