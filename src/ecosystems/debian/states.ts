/**
 * piuparts' package state computation for one section (piupartslib
 * packagesdb.py, piuparts 1.1.7), reimplemented to run in near-linear
 * time on a whole Debian section (~65,000 packages).
 *
 * The per-package rule is piuparts' own:
 * 1. From the package's logs for its current test version: pass →
 *    `successfully-tested` (if every first-choice dependency exists),
 *    fail/bugged/affected → `failed-testing`, untestable →
 *    `cannot-be-tested`, reserved → `waiting-to-be-tested`, else `unknown`.
 *    Logs of other versions do not count.
 * 2. An `unknown` package: in each `|` group pick the alternative in the
 *    best state (successfully-tested, then waiting, then unknown; a group
 *    none of whose alternatives exists makes the package
 *    `dependency-does-not-exist`). Then the first chosen dependency in an
 *    error state decides (failed → `dependency-failed-testing`, untestable
 *    or blocked → `dependency-cannot-be-tested`, missing →
 *    `dependency-does-not-exist`); if all are good the package is
 *    `waiting-to-be-tested` (or `successfully-tested` with a pass log); a
 *    package on a dependency cycle whose other dependencies are good is
 *    testable too; else any waiting dependency makes it
 *    `waiting-for-dependency-to-be-tested`; else it stays `unknown`.
 *
 * piuparts re-evaluates every unknown package in index order until a
 * round changes nothing, so a package evaluated before its dependencies
 * settle can keep an answer that depends on index order (its own comments
 * admit this). Here packages are evaluated dependencies first, over the
 * strongly connected components of the graph of all alternatives and
 * providers; only inside a component does piuparts' round-robin remain.
 * The result is the one piuparts gives when it happens to meet
 * dependencies before their dependents, and does not depend on index order
 * outside dependency cycles.
 */
import { SectionGraph, type SectionPackage } from './section-graph.ts';
import { SectionStates, type Blocker, type SectionStateOptions } from './section-states.ts';
import { ComponentCycles } from './cycles.ts';
import { stronglyConnectedComponents } from './scc.ts';
import { alternativeScore, isGoodState, isWaitingState, propagatedError, type LogKind, type PackageState } from './state-names.ts';
import { compareDebianVersions } from './version.ts';

/** A recorded result, reservation or recycle mark for one package version. */
export interface PackageLog {
  name: string;
  /** The version the log is for; it counts only if it equals the package's test version. */
  version: string;
  kind: LogKind;
}

/** Options of {@link computeSectionStates}. */
export type StateOptions = SectionStateOptions;

interface Outcome {
  state: PackageState;
  blocker?: Blocker;
  circular?: boolean;
  /** Whether a new choice of alternative changed the component's cycles. */
  reshaped?: boolean;
}

const FAILED_LOGS = SectionStates.logBit('fail') | SectionStates.logBit('bugged') | SectionStates.logBit('affected');

function isNewerElsewhere(db: SectionStates, pkg: SectionPackage): boolean {
  const other = db.version(pkg.name);
  if (other === undefined) return false;
  try {
    return compareDebianVersions(pkg.version, other) < 0;
  } catch {
    return false;
  }
}

function initialState(s: SectionStates, id: number): PackageState {
  const pkg = s.graph.pkg(id);
  if (s.dependencySections.some((db) => isNewerElsewhere(db, pkg))) return 'outdated';
  if (s.recycleMode) {
    if (s.hasLog(id, 'reserved')) return 'waiting-to-be-tested';
    if (s.hasLog(id, 'recycle')) return 'unknown';
  }
  // A pass whose first-choice dependency vanished from the index is
  // re-derived below, where a later alternative may still satisfy it.
  if (s.hasLog(id, 'pass')) {
    const exists = (name: string) => s.graph.byName.has(name) || s.graph.providers.has(name);
    if (s.useCachedSuccess || pkg.depends.every((group) => exists(group[0]!))) return 'successfully-tested';
  }
  if ((s.work.logs[id]! & FAILED_LOGS) !== 0) return 'failed-testing';
  if (s.hasLog(id, 'untestable')) return 'cannot-be-tested';
  if (s.hasLog(id, 'reserved')) return 'waiting-to-be-tested';
  return 'unknown';
}

function testedOrWaiting(s: SectionStates, id: number): PackageState {
  const passed = s.hasLog(id, 'pass') && !(s.recycleMode && s.hasLog(id, 'recycle'));
  return passed ? 'successfully-tested' : 'waiting-to-be-tested';
}

/**
 * Re-pick the counting alternative of each `|` group, telling `cycles`
 * about each new choice.
 * @returns an outcome when a whole group is missing, else whether the
 *   component's cycle graph changed.
 */
function chooseAlternatives(s: SectionStates, id: number, cycles: ComponentCycles | null): Outcome | boolean {
  const base = s.graph.groupStart[id]!;
  const groups = s.graph.pkg(id).depends;
  let reshaped = false;
  for (let g = 0; g < groups.length; g++) {
    const group = groups[g]!;
    if (group.length < 2) continue;
    let found = false;
    let bestScore = -1;
    let best = -1;
    for (let a = 0; a < group.length; a++) {
      const st = s.bestState(group[a]!).state;
      if (st === 'does-not-exist') continue;
      found = true;
      const score = alternativeScore(st);
      if (score > bestScore) {
        bestScore = score;
        best = a;
      }
    }
    if (!found) {
      return { state: 'dependency-does-not-exist', blocker: { dependency: group.join(' | '), state: 'does-not-exist' }, reshaped };
    }
    // With every alternative in an error state the previous choice stays,
    // so the error of the first alternative is the one reported.
    const old = s.work.choice[base + g]!;
    if (best >= 0 && old !== best) {
      s.work.choice[base + g] = best;
      const first = s.graph.altStart[base + g]!;
      if (cycles?.rechosen(first + old, first + best)) reshaped = true;
    }
  }
  return reshaped;
}

function blockerOf(dependency: string, lookup: { state: Blocker['state']; via?: string }): Blocker {
  return lookup.via === undefined ? { dependency, state: lookup.state } : { dependency, state: lookup.state, via: lookup.via };
}

/** piuparts' _compute_package_state(): the state of an unknown package given its dependencies' current states. */
function evaluate(s: SectionStates, id: number, cycles: ComponentCycles | null): Outcome {
  const chosen = chooseAlternatives(s, id, cycles);
  if (typeof chosen !== 'boolean') return chosen;
  const outcome = decide(s, id, cycles);
  outcome.reshaped = chosen;
  return outcome;
}

function decide(s: SectionStates, id: number, cycles: ComponentCycles | null): Outcome {
  const deps = s.chosenDependencies(id);
  const states = deps.map((d) => s.bestState(d));
  for (let i = 0; i < deps.length; i++) {
    const propagated = propagatedError(states[i]!.state);
    if (propagated) return { state: propagated, blocker: blockerOf(deps[i]!, states[i]!) };
  }
  const firstBad = states.findIndex((l) => !isGoodState(l.state));
  if (firstBad < 0) return { state: testedOrWaiting(s, id) };
  if (cycles) {
    const notGood: number[] = [];
    states.forEach((l, g) => isGoodState(l.state) || notGood.push(s.chosenTarget(id, g)));
    if (cycles.covers(id, notGood)) return { state: testedOrWaiting(s, id), circular: true };
  }
  const waiting = states.findIndex((l) => isWaitingState(l.state));
  if (waiting >= 0) return { state: 'waiting-for-dependency-to-be-tested', blocker: blockerOf(deps[waiting]!, states[waiting]!) };
  return { state: 'unknown', blocker: blockerOf(deps[firstBad]!, states[firstBad]!) };
}

function record(s: SectionStates, id: number, outcome: Outcome): void {
  s.work.state[id] = outcome.state;
  s.work.blocker[id] = outcome.blocker;
  s.work.circular[id] = outcome.circular ? 1 : 0;
}

/** piuparts' rounds, restricted to one strongly connected component whose dependencies outside it are settled. */
function settleComponent(s: SectionStates, members: number[], scratch: Int32Array): void {
  members.sort((a, b) => a - b);
  const cycles = new ComponentCycles(s, members, scratch);
  const inComponent = new Set(members);
  const dirty = new Set(members);
  const { reverseEdges: rev } = s.graph;
  let structure = 0;
  const seenStructure = new Map<number, number>();
  for (;;) {
    let changed = false;
    for (const id of members) {
      if (s.work.state[id] !== 'unknown') continue;
      if (!dirty.has(id) && seenStructure.get(id) === structure) continue;
      dirty.delete(id);
      const outcome = evaluate(s, id, cycles);
      if (outcome.reshaped) structure++;
      seenStructure.set(id, structure);
      record(s, id, outcome);
      if (outcome.state === 'unknown') continue;
      changed = true;
      for (let e = rev.start[id]!; e < rev.start[id + 1]!; e++) {
        const r = rev.targets[e]!;
        if (inComponent.has(r)) dirty.add(r);
      }
    }
    if (!changed) break;
  }
  cycles.release();
}

/**
 * Compute the piuparts state of every package of a section.
 * @param packages the section's packages, in index order (the order only
 *   breaks ties inside dependency cycles). Names must be unique.
 * @param logs results, reservations and recycle marks; those for a name
 *   not in the section or a version other than the package's test version
 *   are ignored.
 * @returns the states, with a blocker for every blocked, waiting or unknown package.
 * @throws Error when a package name appears twice.
 */
export function computeSectionStates(
  packages: Iterable<SectionPackage>,
  logs: Iterable<PackageLog>,
  options: StateOptions = {},
): SectionStates {
  const others = options.dependencySections ?? [];
  const graph = new SectionGraph(packages, others.length ? (name) => others.flatMap((db) => db.providerNames(name)) : undefined);
  const flags = new Uint8Array(graph.size);
  for (const log of logs) {
    const id = graph.id(log.name);
    if (id !== undefined && graph.testVersion(id) === log.version) flags[id]! |= SectionStates.logBit(log.kind);
  }
  const s = new SectionStates(graph, flags, options);
  for (let id = 0; id < graph.size; id++) s.work.state[id] = initialState(s, id);
  const scratch = new Int32Array(graph.size).fill(-1);
  for (const members of stronglyConnectedComponents(graph.edges).list) {
    const id = members[0]!;
    if (members.length === 1 && !graph.dependsOnItself(id)) {
      if (s.work.state[id] === 'unknown') record(s, id, evaluate(s, id, null));
    } else {
      settleComponent(s, members, scratch);
    }
  }
  return s;
}
