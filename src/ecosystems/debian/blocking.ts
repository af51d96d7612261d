/**
 * How many packages wait on, or are blocked by, a package, and the order
 * in which piuparts' master hands out `waiting-to-be-tested` packages
 * (piupartslib packagesdb.py: _calc_rrdep_pkg_counts, _get_package_weight,
 * _find_packages_ready_for_testing).
 *
 * The counts follow the chosen dependencies (one alternative per group, a
 * virtual name standing for its first provider) backwards, transitively.
 */
import type { SectionStates } from './section-states.ts';
import { buildCsr, reverseCsr, type CsrGraph } from './scc.ts';
import { ERROR_STATES, WAITING_STATES } from './state-names.ts';

/** Reverse-dependency figures of one package. */
export interface ReverseDependencyCounts {
  /** Packages of the section that depend on it, directly or transitively. */
  rrdeps: number;
  /**
   * When the package is in an error state: how many of those are in an
   * error state too (the report sorts error pages by this); else 0.
   */
  blocking: number;
  /**
   * When the package is waiting: how many of those are waiting too (they
   * wait on it); else 0.
   */
  waiting: number;
  /**
   * Length of the longest shortest reverse-dependency path, counting the
   * package itself: 1 when nothing depends on it, 2 when only direct
   * dependents do.
   */
  chainLength: number;
}

/**
 * Reverse-dependency counts over a computed section. Each package's counts
 * cost one breadth-first search over what depends on it, done on first
 * request and remembered; piuparts does the same per package.
 */
export class BlockingIndex {
  readonly #states: SectionStates;
  readonly #rdeps: CsrGraph;
  readonly #cache = new Map<number, ReverseDependencyCounts>();
  readonly #seen: Int32Array;
  readonly #queue: Int32Array;
  #stamp = 0;

  /** Index the chosen dependencies of a computed section backwards; O(packages + dependencies). */
  constructor(states: SectionStates) {
    this.#states = states;
    const n = states.graph.size;
    const deps = buildCsr(n, (id, add) => {
      states.forEachChosenTarget(id, (t) => {
        if (t >= 0) add(t);
      });
    });
    this.#rdeps = reverseCsr(deps);
    this.#seen = new Int32Array(n);
    this.#queue = new Int32Array(n);
  }

  /** Counts for a package of the section, or undefined for other names. */
  counts(name: string): ReverseDependencyCounts | undefined {
    const id = this.#states.graph.id(name);
    return id === undefined ? undefined : this.countsOf(id);
  }

  /** Counts for package `id`. */
  countsOf(id: number): ReverseDependencyCounts {
    const cached = this.#cache.get(id);
    if (cached) return cached;
    const state = this.#states.work.state;
    const own = state[id]!;
    const isError = ERROR_STATES.has(own);
    const isWaiting = WAITING_STATES.has(own);
    const stamp = ++this.#stamp;
    const { start, targets } = this.#rdeps;
    const seen = this.#seen;
    const queue = this.#queue;
    seen[id] = stamp;
    queue[0] = id;
    let head = 0;
    let tail = 1;
    let levelEnd = 1;
    let chainLength = 1;
    let blocking = 0;
    let waiting = 0;
    while (head < tail) {
      const v = queue[head++]!;
      for (let e = start[v]!; e < start[v + 1]!; e++) {
        const r = targets[e]!;
        if (seen[r] === stamp) continue;
        seen[r] = stamp;
        queue[tail++] = r;
        if (isError && ERROR_STATES.has(state[r]!)) blocking++;
        if (isWaiting && WAITING_STATES.has(state[r]!)) waiting++;
      }
      if (head === levelEnd && tail > levelEnd) {
        chainLength++;
        levelEnd = tail;
      }
    }
    const result = { rrdeps: tail - 1, blocking, waiting, chainLength };
    this.#cache.set(id, result);
    return result;
  }
}

/** Recycle-mode facts about a package, for ordering retests. */
export interface RecycleFacts {
  /** Seconds since the epoch when the recycle mark was made (inode change time); 0 when unknown. */
  ctime: number;
  /** Seconds since the epoch of the recycle mark's modification time; 0 when unknown. */
  mtime: number;
}

/** Options of {@link waitingOrder}. */
export interface WaitingOrderOptions {
  /** Tie-break source in [0, 1); default Math.random. Inject one for reproducible tests. */
  random?: () => number;
  /** Reuse counts already computed for the same section. */
  index?: BlockingIndex;
  /** In recycle mode: the recycle mark's times for a package. */
  recycleFacts?: (name: string) => RecycleFacts | undefined;
}

type Weight = number[];

function compareWeights(a: Weight, b: Weight): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The `waiting-to-be-tested` packages in the order piuparts' `reserve`
 * hands them out: packages already reserved are left out (unless marked
 * for recycling); the rest sorted by (min(chain length, waiting count),
 * waiting count), largest first, then in recycle mode those without a pass
 * log first and older recycle marks first, ties broken at random.
 * @returns package names, first to hand out first.
 */
export function waitingOrder(states: SectionStates, options: WaitingOrderOptions = {}): string[] {
  const random = options.random ?? Math.random;
  const index = options.index ?? new BlockingIndex(states);
  const candidates: { name: string; weight: Weight; tie: number }[] = [];
  for (let id = 0; id < states.graph.size; id++) {
    if (states.work.state[id] !== 'waiting-to-be-tested') continue;
    if (states.hasLog(id, 'reserved') && !states.hasLog(id, 'recycle')) continue;
    const name = states.graph.pkg(id).name;
    const c = index.countsOf(id);
    const weight = [Math.min(c.chainLength, c.waiting), c.waiting];
    if (states.recycleMode) {
      const facts = options.recycleFacts?.(name);
      weight.push(states.hasLog(id, 'pass') ? 0 : 1, -(facts?.ctime ?? 0) / 3600, -(facts?.mtime ?? 0) / 3600);
    }
    candidates.push({ name, weight, tie: random() });
  }
  candidates.sort((a, b) => compareWeights(b.weight, a.weight) || b.tie - a.tie);
  return candidates.map((c) => c.name);
}
