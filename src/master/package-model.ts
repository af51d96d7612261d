import type { Queryable } from '../db/connect.ts';
import { listPublishedArtifacts } from '../db/queries/artifacts.ts';
import { listBuildsForPackage } from '../db/queries/builds.ts';
import type { PackageRow } from '../db/queries/packages.ts';
import { listTargets } from '../db/queries/targets.ts';
import { listVersions } from '../db/queries/versions.ts';
import type { PublishedArtifact, RepositoryInput } from '../ecosystems/types.ts';
import type { Cell, PackagePage } from '../site/render.ts';
import { packageDir, rootFrom } from '../site/paths.ts';
import { publishedLogRel } from './build-logs.ts';
import { storePath } from './artifact-store.ts';

/** What the publisher needs for one package: the page model and the repository input. */
export interface PackageModel {
  page: PackagePage;
  repository: RepositoryInput;
}

/**
 * Read one package's versions, targets, builds, skips, queue and published
 * artifacts, and shape them for the page and the repository writer.
 * @param baseUrl where the output path is served, for artifact URLs in repository files.
 */
export async function loadPackageModel(q: Queryable, pkg: PackageRow, storeDir: string, baseUrl: string): Promise<PackageModel> {
  const [versions, targets, builds, artifacts] = await Promise.all([
    listVersions(q, pkg.id),
    listTargets(q, pkg.ecosystem),
    listBuildsForPackage(q, pkg.id),
    listPublishedArtifacts(q, pkg.id),
  ]);
  const skips = await q.query<{ version_id: number; target: string; reason: string }>(
    'SELECT s.* FROM target_skips s JOIN versions v ON v.id = s.version_id WHERE v.package_id = $1',
    [pkg.id],
  );
  const pending = await q.query<{ version_id: number; target: string }>(
    'SELECT p.version_id, p.target FROM pending p JOIN versions v ON v.id = p.version_id WHERE v.package_id = $1',
    [pkg.id],
  );
  const dir = packageDir(pkg.ecosystem, pkg.name);
  const root = rootFrom(dir);
  const key = (versionId: number, target: string) => `${versionId}\u0000${target}`;
  const skipBy = new Map(skips.map((s) => [key(s.version_id, s.target), s.reason]));
  const pendingSet = new Set(pending.map((p) => key(p.version_id, p.target)));
  // Builds come newest first: the first counted build per cell is the current one.
  const buildBy = new Map<string, (typeof builds)[number]>();
  for (const b of builds) {
    if (b.status === 'expired' || b.status === 'cancelled') continue;
    if (!buildBy.has(key(b.version_id, b.target))) buildBy.set(key(b.version_id, b.target), b);
  }
  const depsBy = new Map<string, Map<string, Set<string>>>();
  for (const a of artifacts) {
    const d = a.tags.dependencies;
    if (!d || typeof d !== 'object' || Array.isArray(d)) continue;
    const kinds = depsBy.get(a.version) ?? new Map<string, Set<string>>();
    for (const [kind, items] of Object.entries(d as Record<string, unknown>)) {
      if (!Array.isArray(items)) continue;
      const set = kinds.get(kind) ?? new Set<string>();
      for (const i of items) if (typeof i === 'string' && i) set.add(i);
      kinds.set(kind, set);
    }
    depsBy.set(a.version, kinds);
  }
  const filesBy = new Map<number, typeof artifacts>();
  for (const a of artifacts) filesBy.set(a.build_id, [...(filesBy.get(a.build_id) ?? []), a]);

  const published: PublishedArtifact[] = artifacts.map((a) => ({
    filename: a.filename,
    size: a.size,
    sha256: a.sha256,
    tags: a.tags,
    storePath: storePath(storeDir, a.sha256),
    version: a.version,
    target: a.target,
  }));
  const repository: RepositoryInput = {
    packageName: pkg.name,
    displayName: pkg.display_name,
    summary: pkg.summary,
    packageMeta: pkg.meta,
    artifacts: published,
    versions: versions.map((v) => ({ version: v.version, yanked: v.yanked, skip: v.skip, meta: v.meta, released: v.released })),
    baseUrl,
  };
  const targetNames = targets.map((t) => t.name);
  const page: PackagePage = {
    ecosystem: pkg.ecosystem,
    name: pkg.name,
    displayName: pkg.display_name,
    summary: pkg.summary,
    skip: pkg.skip,
    syncError: pkg.sync_error,
    targets: targetNames,
    usage: [],
    versions: versions.map((v) => {
      const cells: Record<string, Cell> = {};
      for (const t of targetNames) {
        const k = key(v.id, t);
        const b = buildBy.get(k);
        if (b) {
          cells[t] = {
            state: b.status === 'running' ? 'running' : (b.status as Cell['state']),
            buildId: b.id,
            reason: b.failure_reason ?? undefined,
            durationS: b.duration_ms !== null ? Math.round(b.duration_ms / 100) / 10 : undefined,
            logUrl: b.status === 'running' ? undefined : `${root}${publishedLogRel(b.id)}`,
            files: (filesBy.get(b.id) ?? []).map((a) => ({
              filename: a.filename,
              size: a.size,
              sha256: a.sha256,
              // Filled in by the publisher, which knows where the repository put the file.
              url: '',
            })),
          };
        } else if (skipBy.has(k)) {
          cells[t] = { state: 'skipped', reason: skipBy.get(k), files: [] };
        } else if (pendingSet.has(k)) {
          cells[t] = { state: 'queued', files: [] };
        } else {
          cells[t] = { state: 'not built', reason: pkg.skip ? 'package skipped' : undefined, files: [] };
        }
      }
      return {
        version: v.version,
        released: v.released.toISOString().slice(0, 10),
        skip: v.skip,
        yanked: v.yanked,
        deprecated: typeof v.meta.deprecated === 'string' ? v.meta.deprecated : null,
        cells,
        ...(depsBy.has(v.version) ? { dependencies: [...depsBy.get(v.version)!].map(([kind, items]) => ({ kind, items: [...items].sort() })) } : {}),
      };
    }),
  };
  return { page, repository };
}
