import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import { KILN_VERSION } from '../version.ts';
import type { UsageBlock } from '../ecosystems/types.ts';
import type { Totals } from '../db/queries/stats.ts';

const TEMPLATES = fileURLToPath(new URL('./templates/', import.meta.url));
const eta = new Eta({ views: TEMPLATES, autoEscape: true, cache: true });

/** One cell of a package's versions × targets table. */
export interface Cell {
  state: 'passed' | 'failed' | 'untestable' | 'running' | 'queued' | 'skipped' | 'not built';
  reason?: string;
  /** Build wall time, seconds (one decimal). */
  durationS?: number;
  buildId?: number;
  /** Link to the gzipped log, relative to the page. */
  logUrl?: string;
  files: Array<{ filename: string; url: string; size: number; sha256: string }>;
}

/** Everything the package page shows. */
export interface PackagePage {
  ecosystem: string;
  name: string;
  displayName: string;
  summary: string | null;
  skip: string | null;
  syncError: string | null;
  targets: string[];
  versions: Array<{
    version: string;
    released: string;
    skip: string | null;
    yanked: boolean;
    deprecated: string | null;
    cells: Record<string, Cell>;
    /**
     * What the version's artifacts say they need, from their
     * `tags.dependencies` (e.g. `{ apt: [...], pip: [...] }`), merged over
     * its artifacts: one entry per kind, in order of first appearance.
     */
    dependencies?: Array<{ kind: string; items: string[] }>;
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
  return page('./home', 'Home', '', { ...data, artifactSize: formatBytes(data.totals.artifact_bytes) });
}

/**
 * A package page. `root` is the relative path from the page's folder back to
 * the output root (e.g. `../../../`), so the site works under any prefix.
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
  return page('./package', data.displayName, root, { ...data, deps });
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
