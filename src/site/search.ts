/**
 * The data of the packages page (`packages.html`): `packages.json` at the
 * output root, which the page fetches and filters in the browser, so the
 * HTML stays small however many packages there are.
 *
 * Shape: `{ columns: [...], packages: [[...], ...] }`, one array per
 * package in the order of `columns` (arrays, not objects, to keep a big
 * farm's file small), sorted by ecosystem then name.
 */
import { packageDir } from './paths.ts';

/** Longest summary kept in the search data. */
export const SEARCH_SUMMARY_MAX = 200;

/** The columns of each package row in `packages.json`. */
export const SEARCH_COLUMNS = ['ecosystem', 'name', 'display_name', 'href', 'summary', 'versions', 'builds_passed'] as const;

/** One package as the search data is made from it. */
export interface SearchPackage {
  ecosystem: string;
  /** Normalised name (the page's folder). */
  name: string;
  displayName: string;
  summary: string | null;
  versions: number;
  passed: number;
}

/** The `packages.json` document. */
export interface SearchIndex {
  columns: typeof SEARCH_COLUMNS;
  generated: string;
  packages: Array<[string, string, string, string, string, number, number]>;
}

/** Build `packages.json` from every package. `href` is output-relative (the page sits at the root). */
export function searchIndex(packages: SearchPackage[], generated = new Date().toISOString()): SearchIndex {
  const sorted = [...packages].sort((a, b) => a.ecosystem.localeCompare(b.ecosystem) || a.name.localeCompare(b.name));
  return {
    columns: SEARCH_COLUMNS,
    generated,
    packages: sorted.map((p) => {
      const summary = (p.summary ?? '').replace(/\s+/g, ' ').trim();
      return [
        p.ecosystem,
        p.name,
        p.displayName,
        `${packageDir(p.ecosystem, p.name)}index.html`,
        summary.length > SEARCH_SUMMARY_MAX ? `${summary.slice(0, SEARCH_SUMMARY_MAX - 1)}…` : summary,
        p.versions,
        p.passed,
      ];
    }),
  };
}

/**
 * How the page compares names: lower case, runs of `-`, `_` and `.` as one
 * `-` (PEP 503's rule, harmless for other ecosystems). The inline script in
 * `packages.eta` does the same.
 */
export function searchKey(s: string): string {
  return s.toLowerCase().replace(/[-_.]+/g, '-');
}
