/**
 * piuparts' dependency-cycle rule (packagesdb.py _get_dependency_cycle)
 * for the packages of one strongly connected component: a package on a
 * cycle of chosen dependencies may be tested when each of its dependencies
 * is either good or on that cycle.
 *
 * piuparts walks the dependency graph from scratch for every package it
 * asks about, which is quadratic on a large cycle. Here the cycles of the
 * whole component are found at once (Tarjan) and kept until a choice of
 * alternative inside the component changes.
 */
import type { SectionStates } from './section-states.ts';
import { stronglyConnectedComponents } from './scc.ts';

/** Cycle membership on the chosen-dependency graph inside one component. */
export class ComponentCycles {
  readonly #s: SectionStates;
  readonly #members: readonly number[];
  readonly #local: Int32Array;
  #comp: Int32Array | null = null;
  #onCycle: Uint8Array | null = null;

  /**
   * @param members the component's package ids.
   * @param local scratch array of length n (the section size) holding -1
   *   everywhere; it maps members to positions until {@link release}.
   */
  constructor(s: SectionStates, members: readonly number[], local: Int32Array) {
    this.#s = s;
    this.#members = members;
    this.#local = local;
    members.forEach((id, i) => (local[id] = i));
  }

  /**
   * Note that a package of the component now counts alternative `newAlt`
   * instead of `oldAlt` (indexes into graph.altNames). The cycles are
   * forgotten only if that changes an edge inside the component, which
   * most choices (between packages outside it) do not.
   * @returns whether the cycles may have changed.
   */
  rechosen(oldAlt: number, newAlt: number): boolean {
    const { altTarget, altByName } = this.#s.work;
    const inside = (alt: number) => {
      const t = altTarget[alt]!;
      return t < 0 ? -1 : this.#local[t]!;
    };
    const before = inside(oldAlt);
    const after = inside(newAlt);
    if (before === after && (before < 0 || altByName[oldAlt] === altByName[newAlt])) return false;
    this.#comp = null;
    return true;
  }

  /** Give the scratch array back, all -1 again. */
  release(): void {
    for (const id of this.#members) this.#local[id] = -1;
  }

  /**
   * Whether package `id` is on a cycle that every one of `targets` (ids of
   * its non-good chosen dependencies, -1 for outside the section) is on too.
   * Like piuparts, a package is on a cycle only when the cycle comes back
   * to it through a dependency naming it, not through a virtual name it
   * provides.
   */
  covers(id: number, targets: readonly number[]): boolean {
    // Cheap refusal first: a dependency outside the component cannot be on
    // the package's cycle, and most queries end here.
    if (targets.some((t) => t < 0 || this.#local[t]! < 0)) return false;
    if (!this.#comp) this.#compute();
    const comp = this.#comp!;
    const me = this.#local[id]!;
    return this.#onCycle![me] === 1 && targets.every((t) => comp[this.#local[t]!] === comp[me]);
  }

  #compute(): void {
    const s = this.#s;
    const { groupStart, altStart } = s.graph;
    const { choice, altTarget, altByName } = s.work;
    const members = this.#members;
    const local = this.#local;
    let groups = 0;
    for (const id of members) groups += groupStart[id + 1]! - groupStart[id]!;
    const start = new Int32Array(members.length + 1);
    const targets = new Int32Array(groups);
    const literalFrom = new Int32Array(groups);
    const literalTo = new Int32Array(groups);
    let m = 0;
    let literals = 0;
    for (let v = 0; v < members.length; v++) {
      const id = members[v]!;
      start[v] = m;
      for (let g = groupStart[id]!; g < groupStart[id + 1]!; g++) {
        const alt = altStart[g]! + choice[g]!;
        const t = altTarget[alt]!;
        const w = t < 0 ? -1 : local[t]!;
        if (w < 0) continue;
        targets[m++] = w;
        if (altByName[alt] === 1) {
          literalFrom[literals] = v;
          literalTo[literals++] = w;
        }
      }
    }
    start[members.length] = m;
    const comp = stronglyConnectedComponents({ start, targets: targets.subarray(0, m) }).of;
    const onCycle = new Uint8Array(members.length);
    for (let i = 0; i < literals; i++) {
      if (comp[literalFrom[i]!] === comp[literalTo[i]!]) onCycle[literalTo[i]!] = 1;
    }
    this.#comp = comp;
    this.#onCycle = onCycle;
  }
}
