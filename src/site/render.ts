import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import { KILN_VERSION } from '../version.ts';
import type { UsageBlock } from '../ecosystems/types.ts';
import type { BuildStatus } from '../db/queries/builds.ts';
import type { Totals } from '../db/queries/stats.ts';

const TEMPLATES = fileURLToPath(new URL('./templates/', import.meta.url));
const eta = new Eta({ views: TEMPLATES, autoEscape: true, cache: true });

/** A published file as the package page links it. */
export interface PageFile {
  filename: string;
  /**
   * Link to the file, relative to the page. Empty until the publisher knows
   * where the repository put it, and for a file no repository publishes
   * (then the name is shown unlinked).
   */
  url: string;
  /** Bytes. */
  size: number;
  /** Lower-case hex. */
  sha256: string;
  /** What the artifact's `tags.kind` calls it (`wheel`, `prebuild-install`…); names the file's link in compact cells. */
  kind?: string;
  /** For a file that only accompanies another (`tags.for`, e.g. a wheel's PEP 658 `.metadata`): that file's name. */
  sidecarOf?: string;
}

/** One cell of a package's versions × targets table. */
export interface Cell {
  /**
   * `served`: no build of its own, because a file another target built
   * installs here too (a `py3-none-any` or `abi3` wheel); see `servedBy`.
   */
  state: 'passed' | 'failed' | 'untestable' | 'running' | 'queued' | 'skipped' | 'served' | 'not built';
  reason?: string;
  /** Build wall time, seconds (one decimal). */
  durationS?: number;
  buildId?: number;
  /** Link to the gzipped log, relative to the page. */
  logUrl?: string;
  /** For `running`: the worker building it. */
  worker?: string;
  /** For `running`: when the build started, `YYYY-MM-DD HH:MM` UTC. */
  startedAt?: string;
  files: PageFile[];
  /**
   * For `served`: the file that serves this target, the target whose build
   * made it, that build and its log (relative to the page).
   */
  servedBy?: { file: PageFile; target: string; buildId: number; logUrl: string };
}

/** One published file of a release, for the release's Files table. */
export interface ReleaseFile {
  /** The same object as in its build's cell, so the URL the publisher fills in there shows here too. */
  file: PageFile;
  /** The target whose build made it. */
  target: string;
  buildId: number;
  /** Every target it installs on: its own and those it serves, sorted with {@link compareTargets}. */
  targets: string[];
  /** The artifact's tags; the Files table shows those {@link FILE_COLUMNS} names for the ecosystem. */
  tags: Record<string, unknown>;
  /** What this file says it needs (its `tags.dependencies`), one entry per kind. */
  dependencies: Array<{ kind: string; items: string[] }>;
  /** Files that accompany it (its PEP 658 `.metadata`). */
  sidecars: PageFile[];
}

/** One build of a version (current or superseded), for the list of build logs. */
export interface BuildLine {
  id: number;
  target: string;
  status: BuildStatus;
  /** `YYYY-MM-DD HH:MM` UTC. */
  startedAt: string;
  /** Wall time, seconds (one decimal); absent while running. */
  durationS?: number;
  worker: string | null;
  reason?: string;
  /** Link to the gzipped log, relative to the page; absent while the build runs (its log is not published yet). */
  logUrl?: string;
}

/** Everything the package page shows. */
export interface PackagePage {
  ecosystem: string;
  name: string;
  displayName: string;
  summary: string | null;
  skip: string | null;
  syncError: string | null;
  /** Sorted with {@link compareTargets}. */
  targets: string[];
  versions: Array<{
    version: string;
    released: string;
    skip: string | null;
    yanked: boolean;
    /** Why upstream yanked it (`meta.yanked_reason`), when it said. */
    yankedReason?: string | null;
    deprecated: string | null;
    cells: Record<string, Cell>;
    /**
     * What the version's artifacts say they need, from their
     * `tags.dependencies` (e.g. `{ apt: [...], pip: [...] }`), merged over
     * its artifacts: one entry per kind, in order of first appearance.
     */
    dependencies?: Array<{ kind: string; items: string[] }>;
    /** Its published files, sidecars folded into the file they accompany. */
    files?: ReleaseFile[];
    /** Every build of it Kiln still remembers (`kiln rebuild` forgets ended ones), newest first. */
    builds?: BuildLine[];
  }>;
  usage: UsageBlock[];
}

/** What the packages page needs; the list itself is in `packages.json`. */
export interface PackagesPage {
  total: number;
  ecosystems: string[];
}

/** Most search results the packages page shows at once. */
export const SEARCH_RESULTS_SHOWN = 200;

/** How the package page names the dependency kinds it knows; others show as their key. */
export const DEPENDENCY_KINDS: Record<string, { label: string; install?: (items: string[]) => string }> = {
  apt: { label: 'Debian packages (apt)', install: (items) => `sudo apt install ${items.join(' ')}` },
  pip: { label: 'Requirements (pip)' },
};

/**
 * Per ecosystem, the artifact tags its Files tables show, in order, with
 * their column labels. An ecosystem listed here gets compact cells (a link
 * per file, named by its kind, and the log) and a Files table per release;
 * any other keeps each file's name, size and sha256 inside its cell.
 */
export const FILE_COLUMNS: Record<string, Array<{ tag: string; label: string }>> = {
  pypi: [
    { tag: 'abi_tag', label: 'ABI' },
    { tag: 'platform_tag', label: 'platform' },
    { tag: 'requires_python', label: 'requires_python' },
  ],
  npm: [
    { tag: 'runtime', label: 'runtime' },
    { tag: 'abi', label: 'ABI' },
    { tag: 'platform', label: 'platform' },
    { tag: 'arch', label: 'arch' },
    { tag: 'libc', label: 'libc' },
  ],
};

/** What a cell calls its state, where piwheels' words read better than the stored ones. */
export const STATE_LABELS: Partial<Record<Cell['state'], string>> = { queued: 'pending', running: 'building' };

/** The legend under the table: what each state means, for the states the page shows, in this order. */
const STATE_NOTES: Array<[Cell['state'], string]> = [
  ['passed', 'built'],
  ['untestable', 'built, but its tests could not run'],
  ['failed', 'see the log for why'],
  ['served', 'a file built for another target installs here too'],
  ['skipped', 'not built here, for the reason given'],
  ['queued', 'waiting for a worker'],
  ['running', 'a worker is building it now'],
  ['not built', 'not attempted'],
];

/**
 * Order target names as versions, so `cp39-…` comes before `cp313-…` and
 * `node-v93-…` before `node-v115-…`: runs of digits compare as numbers.
 */
export function compareTargets(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** A build's wall time for people: `<0.1 s`, `12.3 s`, `4 min 5 s`, `1 h 2 min`. */
export function formatDuration(seconds: number): string {
  if (seconds < 0.1) return '<0.1 s';
  if (seconds < 60) return `${Math.round(seconds * 10) / 10} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Everything the home page shows. */
export interface HomePage {
  totals: Totals;
  queue: Array<{ target: string; ecosystem: string; queued: number; workers: number }>;
  workers: Array<{ name: string; targets: string[]; labels: string[]; kilnVersion: string; lastSeen: string }>;
  packages: Array<{ displayName: string; ecosystem: string; href: string; versions: number; passed: number; failed: number; note: string }>;
}

function page(template: string, title: string, root: string, data: object): string {
  return eta.render(template, { ...data, title, root, generatedAt: new Date().toISOString(), kilnVersion: KILN_VERSION });
}

/** Format a byte count for people: "1.2 MB" (powers of 1000). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** The home page, `index.html` at the output root. */
export function renderHome(data: HomePage): string {
  // Debian's reports live beside the package pages; the header links them when a section exists.
  const debianNav = data.queue.some((q) => q.ecosystem === 'debian');
  return page('./home', 'Home', '', { ...data, debianNav, artifactSize: formatBytes(data.totals.artifact_bytes) });
}

/** An absolute URL stays as it is; a path relative to the output root is made relative to the page. */
function pageHref(href: string, root: string): string {
  return /^[a-z][a-z\d+.-]*:/i.test(href) ? href : `${root}${href}`;
}

/** A tag's value as a table shows it: strings and numbers as they are, anything else blank. */
function tagText(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
}

/**
 * A package page. `root` is the relative path from the page's folder back to
 * the output root (e.g. `../../../`), so the site works under any prefix.
 * Ecosystems in {@link FILE_COLUMNS} get compact cells and Files tables.
 */
export function renderPackage(data: PackagePage, root: string): string {
  const depKinds = [...new Set(data.versions.flatMap((v) => (v.dependencies ?? []).map((d) => d.kind)))];
  const depVersions = data.versions.filter((v) => !v.skip && v.dependencies?.some((d) => d.items.length));
  const latest = depVersions[0];
  const installs = (latest?.dependencies ?? []).flatMap((d) => {
    const k = DEPENDENCY_KINDS[d.kind];
    return k?.install && d.items.length ? [{ label: k.label, line: k.install(d.items) }] : [];
  });
  const deps = {
    kinds: depKinds.map((k) => ({ key: k, label: DEPENDENCY_KINDS[k]?.label ?? k })),
    versions: data.versions.filter((v) => v.dependencies?.length),
    latest: latest?.version ?? null,
    installs,
  };
  const columns = FILE_COLUMNS[data.ecosystem];
  const releases = data.versions
    .map((v) => {
      const files = columns ? (v.files ?? []) : [];
      const kinds = [...new Set(files.flatMap((f) => f.dependencies.map((d) => d.kind)))];
      return {
        version: v.version,
        builds: v.builds ?? [],
        depKinds: kinds,
        files: files.map((f) => ({
          ...f,
          facts: columns!.map((c) => tagText(f.tags[c.tag])),
          deps: kinds.map((k) => f.dependencies.find((d) => d.kind === k)?.items ?? []),
        })),
      };
    })
    .filter((r) => r.files.length || r.builds.length);
  const links = data.usage.flatMap((u) => u.links ?? []).map((l) => ({ label: l.label, href: pageHref(l.href, root) }));
  return page('./package', data.displayName, root, {
    ...data,
    deps,
    links,
    compact: columns !== undefined,
    columns: columns ?? [],
    releases,
    detailed: new Set(releases.map((r) => r.version)),
    stateLabels: STATE_LABELS,
    legend: STATE_NOTES.filter(([state]) => data.versions.some((v) => !v.skip && Object.values(v.cells).some((c) => c.state === state))).map(
      ([state, note]) => ({ state, label: STATE_LABELS[state] ?? state, note }),
    ),
    formatBytes,
    formatDuration,
  });
}

/** The packages page, `packages.html` at the output root, which searches `packages.json` in the browser. */
export function renderPackages(data: PackagesPage): string {
  return page('./packages', 'Packages', '', { ...data, maxResults: SEARCH_RESULTS_SHOWN });
}

/**
 * The 404 page. It is served in place of any missing path, so its links
 * cannot be relative: they start at `rootPath`, the path the output is
 * published under (from `public_url`, e.g. `/mirror/`; `/` by default).
 */
export function renderNotFound(rootPath = '/'): string {
  return page('./not-found', 'Not found', rootPath.endsWith('/') ? rootPath : `${rootPath}/`, {});
}

/** The site's stylesheet. */
export function stylesheet(): string {
  return readFileSync(new URL('./templates/style.css', import.meta.url), 'utf8');
}
