/**
 * What the section report renderer is given: one section's packages with
 * their computed piuparts states, results, logs and known problems, and
 * the history of its state counts. Built by the master from its database
 * and the section's index; rendered by render.ts into files under
 * `debian/<section>/`.
 */
import type { PackageState } from '../state-names.ts';

/** A known problem, as piuparts' known_problems/*.conf describe one. */
export interface KnownProblem {
  /** File name without `.conf`, e.g. `owned_files_after_purge_issue`; names the problem's page. */
  id: string;
  /** Extended regular expression, matched line by line. */
  pattern: string;
  excludePattern: string | null;
  /**
   * Where it applies: `pass` logs, or failed ones (`fail`, `bugged`,
   * `affected`); Kiln adds `untestable`, for problems (mostly
   * infrastructure ones) that also show in untestable logs.
   */
  where: Array<'pass' | 'fail' | 'bugged' | 'affected' | 'untestable'>;
  /** false: an error (the test failed because of it); true: an issue (worth knowing, not fatal). */
  issue: boolean;
  /** One-line title. */
  header: string;
  /** HTML help text, shown on the problem's page. */
  helpText: string;
  /** Where it came from: `kiln` (shipped) or the operator's directory. */
  origin: string;
  /**
   * Kiln's addition (`KILN_INFRASTRUCTURE="yes"` in the .conf): the problem
   * is a fault of the test infrastructure (network, mirror, disk, piuparts
   * itself), not of the package. The master drops such results and tests
   * the package again, as piuparts' detect_network_issues and
   * detect_piuparts_issues cron scripts delete those logs.
   */
  infrastructure: boolean;
  /** piuparts' optional EXPLAIN text (HTML), shown on the problem's page when set. */
  explain?: string | null;
}

/** One binary package of the section, as the report shows it. */
export interface ReportPackage {
  name: string;
  /** The version in the section's index. */
  version: string;
  source: string;
  sourceVersion: string;
  /** The Maintainer field, e.g. `Jane Doe <jane@example.org>`. */
  maintainer: string;
  /** Uploaders from the Sources index, when known. */
  uploaders: string[];
  architecture: string;
  state: PackageState;
  /** For blocked and waiting states: the dependency that decides, and its state. */
  blocker?: { dependency: string; state: string; via?: string };
  /** How many packages wait on this one (piuparts' "blocking" count). */
  blocking: number;
  /** Depends and Pre-Depends as written in the index. */
  depends: string;
  /** The latest result of this version, if any. */
  result?: {
    kind: 'pass' | 'fail' | 'untestable';
    /** ISO 8601 UTC. */
    at: string;
    /** Test time, s. */
    durationS: number | null;
    /** Who tested it: a Kiln worker's name, or the piuparts-slave's. */
    worker: string | null;
    /** Link to the log, relative to the output root (gzipped build log). */
    logUrl: string;
    /** Known problem ids found in the log. */
    problems: string[];
    /** Marked for retest (piuparts' recycle). */
    retest: boolean;
  };
  /** A reservation in progress: since when (ISO 8601) and by whom. */
  reserved?: { since: string; worker: string | null };
}

/** One day of state counts (piuparts' counts.txt row). */
export interface CountsRow {
  /** `YYYY-MM-DD`. */
  day: string;
  counts: Partial<Record<PackageState, number>>;
}

/** Everything the report of one section shows. */
export interface SectionReport {
  section: string;
  description: string;
  /** `distro`, `area`, `arch`, mirror and upgrade path, for the header. */
  distro: string;
  area: string;
  arch: string;
  mirror: string;
  upgradeTestDistros: string[];
  /** ISO 8601 UTC of the index the states come from. */
  indexDate: string | null;
  /** ISO 8601 UTC when the report was made. */
  generated: string;
  packages: ReportPackage[];
  history: CountsRow[];
  problems: KnownProblem[];
  /** Base URL of the site, for absolute links in summary.json. */
  baseUrl: string;
  /**
   * piuparts' `json-sections`: the names this section's results are filed
   * under in summary.json (e.g. `unstable`). Default: the section's name.
   * `['none']` writes no summary.json for the section, as piuparts does.
   */
  jsonSections?: string[];
  /**
   * piuparts' `precedence` (default 1): when the global summary.json merges
   * sections, lower values come first and win ties between equally bad
   * results.
   */
  precedence?: number;
}
