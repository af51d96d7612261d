/**
 * The package states of piuparts' master (piupartslib/packagesdb.py,
 * piuparts 1.1.7) and how they relate. The list and its order are part of
 * piuparts' interface: the `status` reply and the report's counts.txt list
 * states in this order. See https://salsa.debian.org/debian/piuparts and
 * the piuparts README "distributed testing" section.
 */

/** Every package state, in piuparts' order. */
export const PACKAGE_STATES = [
  'successfully-tested',
  'failed-testing',
  'cannot-be-tested',
  'essential-required',
  'waiting-to-be-tested',
  'waiting-for-dependency-to-be-tested',
  'dependency-failed-testing',
  'dependency-cannot-be-tested',
  'dependency-does-not-exist',
  'circular-dependency',
  'unknown',
  'unknown-preferred-alternative',
  'no-dependency-from-alternatives-exists',
  'outdated',
] as const;

/** The state of a package of the section being computed. */
export type PackageState = (typeof PACKAGE_STATES)[number];

/**
 * States piuparts still lists but no longer assigns (its code keeps them so
 * old counts.txt columns stay aligned).
 */
export const OBSOLETE_STATES: ReadonlySet<PackageState> = new Set([
  'essential-required',
  'circular-dependency',
  'unknown-preferred-alternative',
  'no-dependency-from-alternatives-exists',
]);

/** The states piuparts' `status` command reports, in order. */
export const ACTIVE_STATES: readonly PackageState[] = PACKAGE_STATES.filter((s) => !OBSOLETE_STATES.has(s));

/**
 * What a dependency name looks up as: a package state, or one of the
 * answers only a lookup gives. `virtual` is a provided name looked up
 * without resolving it to a provider; `foreign:<arch>` and
 * `ignore-does-not-exist` come from piuparts' lists of names that exist
 * only elsewhere and count as satisfied.
 */
export type DependencyState = PackageState | 'does-not-exist' | 'virtual' | 'ignore-does-not-exist' | `foreign:${string}`;

/** Whether a dependency in this state lets its dependents be tested. */
export function isGoodState(s: DependencyState): boolean {
  return s === 'successfully-tested' || s === 'essential-required' || s === 'ignore-does-not-exist' || s.startsWith('foreign:');
}

/** The dependency states whose dependents are blocked, and the state each passes on. */
const ERROR_PROPAGATION: ReadonlyMap<DependencyState, PackageState> = new Map<DependencyState, PackageState>([
  ['failed-testing', 'dependency-failed-testing'],
  ['cannot-be-tested', 'dependency-cannot-be-tested'],
  ['dependency-failed-testing', 'dependency-failed-testing'],
  ['dependency-cannot-be-tested', 'dependency-cannot-be-tested'],
  ['dependency-does-not-exist', 'dependency-cannot-be-tested'],
  ['does-not-exist', 'dependency-does-not-exist'],
]);

/**
 * The state a package gets when this dependency state blocks it, e.g.
 * `failed-testing` → `dependency-failed-testing`, or undefined when the
 * state is not an error.
 */
export function propagatedError(s: DependencyState): PackageState | undefined {
  return ERROR_PROPAGATION.get(s);
}

/** Whether a dependency in this state is still waiting to be tested (its dependents wait too). */
export function isWaitingState(s: DependencyState): boolean {
  return s === 'waiting-to-be-tested' || s === 'waiting-for-dependency-to-be-tested';
}

/** The package states counted as errors for "blocked packages" counts (piuparts' get_error_states()). */
export const ERROR_STATES: ReadonlySet<PackageState> = new Set([
  'failed-testing',
  'cannot-be-tested',
  'dependency-failed-testing',
  'dependency-cannot-be-tested',
  'dependency-does-not-exist',
]);

/** The package states counted as waiting (piuparts' get_waiting_states()). */
export const WAITING_STATES: ReadonlySet<PackageState> = new Set(['waiting-to-be-tested', 'waiting-for-dependency-to-be-tested']);

// piuparts' get_best_package_state() scans this list and returns the
// first state any candidate is in.
const BEST_ORDER: readonly DependencyState[] = [
  'successfully-tested',
  'essential-required',
  'ignore-does-not-exist',
  'foreign:',
  'waiting-to-be-tested',
  'waiting-for-dependency-to-be-tested',
  ...ERROR_PROPAGATION.keys(),
];

/**
 * Rank of a dependency state when choosing the best of several (a name
 * and its providers), lower is better: good states first, then waiting,
 * then errors, in piuparts' order; `Infinity` for states that are none of
 * these (`unknown`, `outdated`, `virtual`), which are never chosen as best.
 */
export function bestStateRank(s: DependencyState): number {
  const i = BEST_ORDER.indexOf(s.startsWith('foreign:') ? 'foreign:' : s);
  return i < 0 ? Infinity : i;
}

/**
 * Score of an alternative when picking which one of a `|` group counts
 * (higher wins; the first alternative with the highest score is chosen):
 * 3 essential-required, 2 successfully-tested, 1 waiting, 0 unknown, and
 * -1 for anything else, which is never chosen.
 */
export function alternativeScore(s: DependencyState): number {
  if (s === 'essential-required') return 3;
  if (s === 'successfully-tested') return 2;
  if (isWaitingState(s)) return 1;
  if (s === 'unknown') return 0;
  return -1;
}

/**
 * The kinds of log piuparts' master keeps per package version, one
 * directory each: pass/, fail/, bugged/, affected/, untestable/,
 * reserved/ and recycle/.
 */
export const LOG_KINDS = ['pass', 'fail', 'bugged', 'affected', 'untestable', 'reserved', 'recycle'] as const;

/** One kind of log; `bugged` and `affected` are failures with a bug filed. */
export type LogKind = (typeof LOG_KINDS)[number];

/**
 * Names piuparts 1.1.7 hard-codes as only available from a foreign
 * architecture; a dependency on one counts as satisfied (`foreign:i386`).
 */
export const PIUPARTS_FOREIGN_PACKAGES: ReadonlyMap<string, string> = new Map([
  ['ia32-libs-i386', 'i386'],
  ['ia32-libs-gtk-i386', 'i386'],
  ['libnss-mdns-i386', 'i386'],
]);

/**
 * Names piuparts 1.1.7 hard-codes as missing on purpose (other kernels,
 * third-party archives); a dependency on one counts as satisfied
 * (`ignore-does-not-exist`).
 */
export const PIUPARTS_IGNORED_MISSING: ReadonlySet<string> = new Set([
  'kbdcontrol',
  'vidcontrol',
  'mediawiki',
  'llvm-3.7-dev',
  'oracle-instantclient-basic',
  'oracle-instantclient11.2-basic',
  'oracle-instantclient12.1-basic',
]);
