/**
 * The computed states of one section, and the lookups piuparts makes on
 * them: a name's state (resolving virtual names to a provider and falling
 * back to dependency sections), and the best state among a name and its
 * providers. Built by `computeSectionStates` in states.ts.
 */
import type { SectionGraph } from './section-graph.ts';
import {
  bestStateRank,
  isGoodState,
  LOG_KINDS,
  PACKAGE_STATES,
  PIUPARTS_FOREIGN_PACKAGES,
  PIUPARTS_IGNORED_MISSING,
  type DependencyState,
  type LogKind,
  type PackageState,
} from './state-names.ts';

/** The answer to looking a name up: its state, and which package it came from when that is not the name itself. */
export interface Lookup {
  state: DependencyState;
  /** The real package whose state this is, when the name was resolved through Provides. */
  via?: string;
}

/** Why a package is not (yet) testable: the dependency that decided its state. */
export interface Blocker {
  /**
   * The dependency as the package names it: a package or virtual name, or
   * for an `|` group none of whose alternatives exists, the alternatives
   * joined with ` | `.
   */
  dependency: string;
  /** The dependency's state when it was looked up (its best provider's, for a virtual name). */
  state: DependencyState;
  /** The provider the state came from, when `dependency` is a virtual name. */
  via?: string;
}

/** A package's computed state and the reason for it. */
export interface PackageStatus {
  state: PackageState;
  /**
   * For `dependency-*`, `waiting-for-dependency-to-be-tested` and `unknown`:
   * the first dependency that is failed, missing, waiting or unresolved.
   */
  blocker?: Blocker;
  /** True when the package became testable only through the dependency-cycle rule. */
  circular?: boolean;
}

/** Options shared by the computation and the lookups. */
export interface SectionStateOptions {
  /**
   * piuparts' recycle mode (the worker asked to retest old results): a
   * `recycle` mark makes a package ignore its earlier logs. Default false.
   */
  recycleMode?: boolean;
  /**
   * Trust a pass log without checking that the package's first-choice
   * dependencies exist. piuparts computes dependency sections this way.
   * Default false.
   */
  useCachedSuccess?: boolean;
  /**
   * Already computed sections searched, in order, for names this section
   * lacks (piuparts' `depends-sections`). A package with a newer version in
   * one of them is `outdated` here.
   */
  dependencySections?: readonly SectionStates[];
  /** Names only available from another architecture, counted as satisfied. Default piuparts' list. */
  foreignPackages?: ReadonlyMap<string, string>;
  /** Names missing on purpose, counted as satisfied. Default piuparts' list. */
  ignoredMissing?: ReadonlySet<string>;
}

const LOG_BIT: Record<LogKind, number> = Object.fromEntries(LOG_KINDS.map((k, i) => [k, 1 << i])) as Record<LogKind, number>;

/** Package states of one section, with piuparts' lookups over them. */
export class SectionStates {
  readonly graph: SectionGraph;
  readonly recycleMode: boolean;
  readonly useCachedSuccess: boolean;
  readonly dependencySections: readonly SectionStates[];
  /** @internal The computation's working arrays, per package id. */
  readonly work: {
    state: PackageState[];
    blocker: (Blocker | undefined)[];
    circular: Uint8Array;
    /** Per group (see graph.groupStart): the index of the alternative that counts. */
    choice: Int32Array;
    logs: Uint8Array;
    /** Per alternative (see graph.altStart): {@link SectionStates.target} of its name. */
    altTarget: Int32Array;
    /** Per alternative: 1 when its name is its target's own name (not a virtual name it provides). */
    altByName: Uint8Array;
  };
  readonly #foreign: ReadonlyMap<string, string>;
  readonly #ignored: ReadonlySet<string>;

  /** @internal Use computeSectionStates(). */
  constructor(graph: SectionGraph, logs: Uint8Array, options: SectionStateOptions) {
    this.graph = graph;
    this.recycleMode = options.recycleMode ?? false;
    this.useCachedSuccess = options.useCachedSuccess ?? false;
    this.dependencySections = options.dependencySections ?? [];
    this.#foreign = options.foreignPackages ?? PIUPARTS_FOREIGN_PACKAGES;
    this.#ignored = options.ignoredMissing ?? PIUPARTS_IGNORED_MISSING;
    const n = graph.size;
    this.work = {
      state: new Array<PackageState>(n).fill('unknown'),
      blocker: new Array<Blocker | undefined>(n),
      circular: new Uint8Array(n),
      choice: new Int32Array(graph.groupStart[n]!),
      logs,
      altTarget: Int32Array.from(graph.altNames, (name) => this.target(name)),
      altByName: Uint8Array.from(graph.altNames, (name) => (graph.byName.has(name) ? 1 : 0)),
    };
  }

  /** The bit for a log kind in the per-package log flags. */
  static logBit(kind: LogKind): number {
    return LOG_BIT[kind];
  }

  /** Whether package `id` has a log of this kind for its test version. */
  hasLog(id: number, kind: LogKind): boolean {
    return (this.work.logs[id]! & LOG_BIT[kind]) !== 0;
  }

  /** Whether a package of this name is in this section (virtual names are not). */
  hasPackage(name: string): boolean {
    return this.graph.byName.has(name);
  }

  /** The version of a package of this section, or undefined. */
  version(name: string): string | undefined {
    const id = this.graph.id(name);
    return id === undefined ? undefined : this.graph.pkg(id).version;
  }

  /** The names of this section's packages providing `name`, in index order. */
  providerNames(name: string): string[] {
    return (this.graph.providers.get(name) ?? []).map((id) => this.graph.pkg(id).name);
  }

  /** The package names of the section in index order. */
  names(): string[] {
    return this.graph.packages.map((p) => p.name);
  }

  /** The state of a package of this section, or undefined for other names. */
  state(name: string): PackageState | undefined {
    const id = this.graph.id(name);
    return id === undefined ? undefined : this.work.state[id];
  }

  /** State, blocker and cycle flag of a package of this section, or undefined. */
  status(name: string): PackageStatus | undefined {
    const id = this.graph.id(name);
    if (id === undefined) return undefined;
    const out: PackageStatus = { state: this.work.state[id]! };
    const blocker = this.work.blocker[id];
    if (blocker) out.blocker = blocker;
    if (this.work.circular[id]) out.circular = true;
    return out;
  }

  /** The names in a state, sorted by code unit as piuparts sorts them. */
  inState(state: PackageState): string[] {
    return this.graph.packages.filter((_, id) => this.work.state[id] === state).map((p) => p.name).sort();
  }

  /** How many packages are in each state (all states listed, zeros included). */
  counts(): Record<PackageState, number> {
    const out = Object.fromEntries(PACKAGE_STATES.map((s) => [s, 0])) as Record<PackageState, number>;
    for (const s of this.work.state) out[s]++;
    return out;
  }

  /** The dependency names that count for package `id`: one per group, the chosen alternative. */
  chosenDependencies(id: number): string[] {
    const p = this.graph.pkg(id);
    const base = this.graph.groupStart[id]!;
    return p.depends.map((group, g) => group[this.work.choice[base + g]!]!);
  }

  /**
   * Call `visit` with the {@link target} of each chosen dependency of
   * package `id` (-1 when it leads outside the section), and whether the
   * dependency names that package itself rather than a virtual name.
   */
  forEachChosenTarget(id: number, visit: (target: number, byName: boolean) => void): void {
    const { groupStart } = this.graph;
    for (let g = groupStart[id]!; g < groupStart[id + 1]!; g++) {
      const alt = this.graph.altStart[g]! + this.work.choice[g]!;
      visit(this.work.altTarget[alt]!, this.work.altByName[alt] === 1);
    }
  }

  /** {@link target} of the chosen alternative of group `g` (0-based) of package `id`. */
  chosenTarget(id: number, g: number): number {
    const group = this.graph.groupStart[id]! + g;
    return this.work.altTarget[this.graph.altStart[group]! + this.work.choice[group]!]!;
  }

  /**
   * Look a name up as piuparts' get_package_state() does: a package of
   * this section gives its state (an `outdated` one the state it has in a
   * dependency section); a virtual name gives its first provider's state,
   * or `virtual` when `resolveVirtual` is false; then the dependency
   * sections are asked (when `recurse`); then the foreign and
   * ignored-missing lists; else `does-not-exist`.
   */
  lookup(name: string, options: { resolveVirtual?: boolean; recurse?: boolean } = {}): Lookup {
    const resolveVirtual = options.resolveVirtual ?? true;
    const recurse = options.recurse ?? true;
    const id = this.graph.id(name);
    if (id !== undefined) {
      const state = this.work.state[id]!;
      if (recurse && state === 'outdated') {
        for (const db of this.dependencySections) {
          const r = db.lookup(name, { resolveVirtual, recurse: false });
          if (r.state !== 'does-not-exist' && r.state !== 'outdated') return r;
        }
      }
      return { state };
    }
    const providers = this.graph.providers.get(name);
    if (providers) {
      if (!resolveVirtual) return { state: 'virtual' };
      const first = providers[0]!;
      return { state: this.work.state[first]!, via: this.graph.pkg(first).name };
    }
    if (recurse) {
      for (const db of this.dependencySections) {
        const r = db.lookup(name, { resolveVirtual, recurse: false });
        if (r.state !== 'does-not-exist') return r;
      }
    }
    const arch = this.#foreign.get(name);
    if (arch !== undefined) return { state: `foreign:${arch}` };
    if (this.#ignored.has(name)) return { state: 'ignore-does-not-exist' };
    return { state: 'does-not-exist' };
  }

  /**
   * The best state among a name and all its providers (here and in the
   * dependency sections), as piuparts' get_best_package_state(): good
   * beats waiting beats error; `unknown` never wins, so a virtual name
   * with one unknown and one failed provider looks failed.
   */
  bestState(name: string): Lookup {
    const direct = this.lookup(name);
    if (isGoodState(direct.state)) return direct;
    const providers = this.providerNames(name);
    for (const db of this.dependencySections) providers.push(...db.providerNames(name));
    if (providers.length === 0) return direct;
    let best: Lookup | undefined;
    let bestRank = Infinity;
    for (const candidate of [name, ...providers]) {
      const r = this.lookup(candidate, { resolveVirtual: false });
      const rank = bestStateRank(r.state);
      if (rank < bestRank) {
        bestRank = rank;
        best = candidate === name ? r : { state: r.state, via: candidate };
      }
    }
    return best ?? direct;
  }

  /**
   * The package of this section a dependency name stands for when
   * following dependency chains (piuparts' get_package() with recursion
   * and virtual resolution): the package itself, else nothing when a
   * dependency section has the real package, else the first provider
   * (here, then in the dependency sections), which is looked up by name
   * here first, so a provider listed by a dependency section can still
   * be this section's package of the same name.
   * @returns the package id, or -1 when the name leads outside the section.
   */
  target(name: string): number {
    const id = this.graph.id(name);
    if (id !== undefined) return id;
    if (this.dependencySections.some((db) => db.hasPackage(name))) return -1;
    const own = this.graph.providers.get(name);
    if (own) return own[0]!;
    for (const db of this.dependencySections) {
      const [first] = db.providerNames(name);
      if (first !== undefined) return this.graph.id(first) ?? -1;
    }
    return -1;
  }
}
