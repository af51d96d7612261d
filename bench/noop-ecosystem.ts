/**
 * The `bench` ecosystem: a master half whose source is an in-memory table of
 * packages, and whose builds are no-ops that publish one file
 * `<name>-<version>.bin`. Its hooks do as little as the core allows, so the
 * benchmark measures the farm, not an ecosystem.
 */
import type { MasterEcosystem, SourcePackage } from '../src/ecosystems/types.ts';

/** Name of the benchmark ecosystem. */
export const BENCH_ECOSYSTEM = 'bench';

/**
 * An upstream with `versions` versions in all, `versionsPerPackage` per
 * package (the last package may have fewer), released one hour apart
 * (newest last), named `bench-pkg-<i>` and `1.0.<j>`.
 */
export function syntheticUpstream(versions: number, versionsPerPackage: number): Map<string, SourcePackage> {
  const up = new Map<string, SourcePackage>();
  const t0 = Date.UTC(2024, 0, 1);
  for (let i = 0; i * versionsPerPackage < versions; i++) {
    const name = `bench-pkg-${i}`;
    up.set(name, {
      name,
      displayName: name,
      summary: null,
      meta: {},
      versions: Array.from({ length: Math.min(versionsPerPackage, versions - i * versionsPerPackage) }, (_, j) => ({
        version: `1.0.${j}`,
        released: new Date(t0 + (i * versionsPerPackage + j) * 3_600_000),
        skip: null,
        yanked: false,
        meta: {},
      })),
    });
  }
  return up;
}

/** Master half of the `bench` ecosystem over `upstream`. */
export function createBenchMaster(upstream: Map<string, SourcePackage>): MasterEcosystem {
  return {
    name: BENCH_ECOSYSTEM,
    normalizeName: (n) => n.toLowerCase(),
    async sync(store) {
      for (const name of await store.trackedPackages()) {
        const p = upstream.get(name);
        if (p) await store.applyPackage(p, 'removed upstream');
      }
    },
    async fetchPackage(name) {
      return upstream.get(name) ?? null;
    },
    targetSkipReason: () => null,
    jobSpec: () => ({}),
    checkArtifactName(filename, v) {
      return filename === `${v.packageName}-${v.version}.bin` ? null : `expected ${v.packageName}-${v.version}.bin`;
    },
    repositoryFiles(input) {
      const files = new Map<string, { content: string } | { linkFrom: string }>();
      for (const a of input.artifacts) files.set(`bench/${input.packageName}/${a.filename}`, { linkFrom: a.storePath });
      files.set(`bench/${input.packageName}/index.json`, { content: JSON.stringify(input.artifacts.map((a) => ({ file: a.filename, sha256: a.sha256 }))) });
      return files;
    },
    usage: () => [],
  };
}
