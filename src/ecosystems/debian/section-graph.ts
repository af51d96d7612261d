/**
 * The packages of one section (one Packages index: suite, component and
 * architecture) indexed for the state computation: names to positions,
 * virtual names to their providers (Policy §7.5
 * <https://www.debian.org/doc/debian-policy/ch-relationships.html#virtual-packages-provides>),
 * and the dependency graph over every alternative and provider.
 */
import { buildCsr, reverseCsr, type CsrGraph } from './scc.ts';

/**
 * A package as the state computation sees it. Only names matter: like
 * piuparts, the computation ignores version relations and architecture
 * qualifiers, because the test itself (apt in a chroot) is what checks
 * them.
 */
export interface SectionPackage {
  name: string;
  /** The version in the section's index. */
  version: string;
  /**
   * The version results are recorded under (piuparts' "test version"):
   * for an upgrade-test section, the version in the final distribution,
   * or `None` when it is not there. Defaults to `version`.
   */
  testVersion?: string;
  /**
   * The Depends groups followed by the Pre-Depends groups, each group the
   * names of its `|` alternatives in field order (multiarch qualifiers
   * removed). Order matters: the first blocking dependency is the one
   * reported.
   */
  depends: readonly (readonly string[])[];
  /** Names listed in Provides. */
  provides: readonly string[];
}

/** A section's packages with the lookups the state computation needs. */
export class SectionGraph {
  /** The packages in input (index file) order; positions are their ids. */
  readonly packages: readonly SectionPackage[];
  /** Package name → id. */
  readonly byName: ReadonlyMap<string, number>;
  /**
   * Provided name → ids of its providers, in package order. A package
   * providing its own name is not listed, as in piuparts.
   */
  readonly providers: ReadonlyMap<string, readonly number[]>;
  /** Edges from each package to every package any alternative of any group could resolve to. */
  readonly edges: CsrGraph;
  /** `edges` reversed: from each package to the packages that could depend on it. */
  readonly reverseEdges: CsrGraph;
  /** Offset of each package's first group in flat per-group arrays; length n+1. */
  readonly groupStart: Int32Array;
  /** Offset of each group's first alternative in `altNames`; length (number of groups)+1. */
  readonly altStart: Int32Array;
  /** Every alternative of every group of every package, flattened in order. */
  readonly altNames: readonly string[];

  /**
   * Index the packages.
   * @param externalProviders names of packages in other sections (the
   *   dependency sections) that provide a name; those names are looked up
   *   in this section too, so they add edges to this section's packages of
   *   the same name.
   * @throws Error when two packages have the same name (collect the index
   *   with collectPackages first, which keeps the newest).
   */
  constructor(packages: Iterable<SectionPackage>, externalProviders?: (name: string) => readonly string[]) {
    this.packages = [...packages];
    const byName = new Map<string, number>();
    const providers = new Map<string, number[]>();
    this.packages.forEach((p, id) => {
      if (byName.has(p.name)) throw new Error(`package ${p.name} listed twice`);
      byName.set(p.name, id);
    });
    this.packages.forEach((p, id) => {
      for (const v of p.provides) {
        if (v === p.name) continue;
        const list = providers.get(v);
        if (list) {
          if (list[list.length - 1] !== id) list.push(id);
        } else providers.set(v, [id]);
      }
    });
    this.byName = byName;
    this.providers = providers;
    const n = this.packages.length;
    this.groupStart = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) this.groupStart[i + 1] = this.groupStart[i]! + this.packages[i]!.depends.length;
    const altNames: string[] = [];
    this.altStart = new Int32Array(this.groupStart[n]! + 1);
    let g = 0;
    for (const p of this.packages) {
      for (const group of p.depends) {
        this.altStart[g++] = altNames.length;
        altNames.push(...group);
      }
    }
    this.altStart[g] = altNames.length;
    this.altNames = altNames;
    this.edges = buildCsr(n, (v, add) => {
      for (const group of this.packages[v]!.depends) {
        for (const name of group) {
          const real = byName.get(name);
          if (real !== undefined) add(real);
          for (const q of providers.get(name) ?? []) add(q);
          for (const other of externalProviders?.(name) ?? []) {
            const q = byName.get(other);
            if (q !== undefined) add(q);
          }
        }
      }
    });
    this.reverseEdges = reverseCsr(this.edges);
  }

  /** Number of packages. */
  get size(): number {
    return this.packages.length;
  }

  /** The id of a package of this section, or undefined. */
  id(name: string): number | undefined {
    return this.byName.get(name);
  }

  /** The package with this id. @throws RangeError for an id out of range. */
  pkg(id: number): SectionPackage {
    const p = this.packages[id];
    if (!p) throw new RangeError(`no package with id ${id}`);
    return p;
  }

  /** The version results for this package must carry. */
  testVersion(id: number): string {
    const p = this.pkg(id);
    return p.testVersion ?? p.version;
  }

  /** Whether package `id` lists itself among its possible dependencies. */
  dependsOnItself(id: number): boolean {
    for (let e = this.edges.start[id]!; e < this.edges.start[id + 1]!; e++) if (this.edges.targets[e] === id) return true;
    return false;
  }
}
