/**
 * The master-side npm ecosystem: syncs packuments from a registry, decides
 * eligibility per target, writes job specs, checks artifact names and
 * publishes the repository.
 */
import type { Logger } from 'pino';
import type {
  Json,
  MasterEcosystem,
  RepositoryFiles,
  RepositoryInput,
  SourcePackage,
  SourceStore,
  TargetInfo,
  UsageBlock,
  VersionInfo,
} from '../types.ts';
import { readVersionMeta } from './manifest.ts';
import { planBuild, type BuildPlan } from './plan.ts';
import { fetchPackument, normalizeRegistry, tarballHasBindingGyp } from './registry.ts';
import { repositoryFiles } from './repository.ts';
import { validatePolicy } from './select.ts';
import { normalizeNpmName, toSourcePackage } from './source.ts';
import { readTargetFacts } from './targets.ts';
import { usage } from './usage.ts';

/** Options of {@link createNpmMaster}. */
export interface NpmMasterOptions {
  /** Registry base URL, e.g. `https://registry.npmjs.org/`. */
  registry: string;
  /** `"latest"`, `"all"` or a semver range. */
  versions: string;
  /** Configured package names (informational; the core's tracked list drives sync). */
  packages: string[];
  /** Node versions whose npm-picked version "latest" also tracks (usually the workers' Node versions). */
  nodeVersions?: string[];
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
}

/** The npm master ecosystem, with the Node versions of "latest" settable once workers are known. */
export interface NpmMasterEcosystem extends MasterEcosystem {
  /** Replace the Node versions used by the "latest" policy; takes effect at the next sync. */
  setNodeVersions(v: string[]): void;
}

/** What the worker receives in `Job.spec` for an npm build. */
export interface NpmJobSpec {
  registry: string;
  name: string;
  version: string;
  tarball: string;
  integrity: string;
  binary: Json | null;
  main: string | null;
  plan: BuildPlan;
}

const SYNC_CONCURRENCY = 4;

/**
 * Create the npm master ecosystem.
 * @throws Error when `versions` is not a valid policy.
 */
export function createNpmMaster(opts: NpmMasterOptions): NpmMasterEcosystem {
  validatePolicy(opts.versions);
  const registry = normalizeRegistry(opts.registry);
  const fetchImpl = opts.fetch ?? fetch;
  let nodeVersions = [...(opts.nodeVersions ?? [])];
  // Tarball looks cost a download each; a version's tarball never changes, so remember verdicts for the process lifetime.
  const peekCache = new Map<string, boolean>();

  const plan = (v: VersionInfo, target: TargetInfo) =>
    planBuild(v.displayName, v.version, readVersionMeta(v.meta), readTargetFacts(target.facts, target.name));

  async function fetchPackage(name: string, signal: AbortSignal): Promise<SourcePackage | null> {
    const doc = await fetchPackument(fetchImpl, registry, name, signal);
    if (!doc) return null;
    const peek = async (pkg: string, version: string, url: string): Promise<boolean> => {
      const key = `${pkg}@${version}`;
      const hit = peekCache.get(key);
      if (hit !== undefined) return hit;
      const found = await tarballHasBindingGyp(fetchImpl, url, signal);
      peekCache.set(key, found);
      return found;
    };
    return toSourcePackage(doc, opts.versions, nodeVersions, peek);
  }

  return {
    name: 'npm',
    normalizeName: normalizeNpmName,
    setNodeVersions(v: string[]) {
      nodeVersions = [...new Set(v)];
    },
    onTargets(targets) {
      this.setNodeVersions(targets.map((t) => t.facts.node).filter((n): n is string => typeof n === 'string'));
    },
    fetchPackage,

    async sync(store: SourceStore, log: Logger, signal: AbortSignal): Promise<void> {
      const names = await store.trackedPackages();
      let next = 0;
      const worker = async () => {
        while (next < names.length && !signal.aborted) {
          const name = names[next++]!;
          try {
            const pkg = await fetchPackage(name, signal);
            if (pkg) await store.applyPackage(pkg, 'unpublished from the registry');
            else await store.recordSyncError(name, `not found in ${registry}`);
          } catch (err) {
            if (signal.aborted) return;
            const msg = err instanceof Error ? err.message : String(err);
            log.warn({ package: name, err: msg }, 'npm sync failed for one package');
            await store.recordSyncError(name, msg);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(SYNC_CONCURRENCY, names.length) }, worker));
    },

    targetSkipReason(v: VersionInfo, target: TargetInfo): string | null {
      return plan(v, target).skip;
    },

    jobSpec(v: VersionInfo, target: TargetInfo): Json {
      const p = plan(v, target);
      if (!p.plan) throw new Error(`${v.displayName}@${v.version} must not be built for ${target.name}: ${p.skip}`);
      const meta = readVersionMeta(v.meta);
      const spec: NpmJobSpec = {
        registry,
        name: v.displayName,
        version: v.version,
        tarball: meta.tarball,
        integrity: meta.integrity,
        binary: (meta.binary as Json | null) ?? null,
        main: meta.main,
        plan: p.plan,
      };
      return spec as unknown as Json;
    },

    checkArtifactName(filename: string, v: VersionInfo, target: TargetInfo): string | null {
      const p = plan(v, target);
      if (!p.plan) return `${v.displayName}@${v.version} is not built for ${target.name}: ${p.skip}`;
      const names = p.plan.expected.map((e) => e.filename);
      return names.includes(filename) ? null : `unexpected artifact ${JSON.stringify(filename)}; this build produces ${names.join(' or ')}`;
    },

    repositoryFiles(input: RepositoryInput): RepositoryFiles {
      return repositoryFiles(input);
    },

    usage(input: RepositoryInput): UsageBlock[] {
      return usage(input);
    },
  };
}
