import type { Queryable } from '../db/connect.ts';
import { listPublishedArtifacts } from '../db/queries/artifacts.ts';
import { listBuildsForPackage } from '../db/queries/builds.ts';
import type { PackageRow } from '../db/queries/packages.ts';
import { listTargets } from '../db/queries/targets.ts';
import { listVersions } from '../db/queries/versions.ts';
import type { Json, PublishedArtifact, RepositoryInput } from '../ecosystems/types.ts';
import { compareTargets, type BuildLine, type Cell, type PackagePage, type PageFile, type ReleaseFile } from '../site/render.ts';
import { packageDir, rootFrom } from '../site/paths.ts';
import { publishedLogRel } from './build-logs.ts';
import { storePath } from './artifact-store.ts';
import { isServedBy } from './scheduler.ts';

/** What the publisher needs for one package: the page model and the repository input. */
export interface PackageModel {
  page: PackagePage;
  repository: RepositoryInput;
}

/**
 * What an artifact's `tags.dependencies` says it needs (e.g. `{ apt: [...],
 * pip: [...] }`): one entry per kind, in the tags' order, each list
 * deduplicated and sorted. Anything that is not a list of strings is ignored.
 */
export function tagDependencies(tags: Json): Array<{ kind: string; items: string[] }> {
  const d = tags.dependencies;
  if (!d || typeof d !== 'object' || Array.isArray(d)) return [];
  return Object.entries(d as Record<string, unknown>).flatMap(([kind, items]) =>
    Array.isArray(items) ? [{ kind, items: [...new Set(items.filter((i): i is string => typeof i === 'string' && i !== ''))].sort() }] : [],
  );
}

/** Rows grouped by a key, each group in the rows' order. */
function groupBy<T, K>(rows: T[], key: (row: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const r of rows) {
    const g = groups.get(key(r));
    if (g) g.push(r);
    else groups.set(key(r), [r]);
  }
  return groups;
}

/** `YYYY-MM-DD HH:MM` in UTC. */
function utcMinute(d: Date): string {
  return d.toISOString().replace('T', ' ').slice(0, 16);
}

/** Seconds with one decimal, from milliseconds. */
function seconds(ms: number | null): number | undefined {
  return ms !== null ? Math.round(ms / 100) / 10 : undefined;
}

/**
 * The artifact that serves a target, read from the scheduler's record: when
 * a passed build's file also installs on another target (a `py3-none-any`
 * wheel), the scheduler skips that target with servedReason() (scheduler.ts). The page shows that verdict rather than
 * asking the ecosystem's `serves` again, because the scheduler has already
 * put the ecosystem's own skip reasons (a Requires-Python that excludes the
 * target) first.
 */
function servingArtifact<A extends { filename: string }>(reason: string, candidates: A[]): A | undefined {
  return candidates.find((a) => isServedBy(reason, a.filename));
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
  const logUrl = (buildId: number) => `${root}${publishedLogRel(buildId)}`;
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
    const found = tagDependencies(a.tags);
    if (!found.length) continue;
    const kinds = depsBy.get(a.version) ?? new Map<string, Set<string>>();
    for (const { kind, items } of found) kinds.set(kind, new Set([...(kinds.get(kind) ?? []), ...items]));
    depsBy.set(a.version, kinds);
  }
  // One object per artifact, shared by its cell, the cells it serves and the Files table:
  // the publisher fills in cell files' URLs once it knows where the repository put them.
  const fileOf = new Map(
    artifacts.map((a): [number, PageFile] => [
      a.id,
      {
        filename: a.filename,
        url: '',
        size: Number(a.size),
        sha256: a.sha256,
        ...(typeof a.tags.kind === 'string' ? { kind: a.tags.kind } : {}),
        ...(typeof a.tags.for === 'string' ? { sidecarOf: a.tags.for } : {}),
      },
    ]),
  );
  const filesBy = groupBy(artifacts, (a) => a.build_id);
  const artifactsBy = groupBy(artifacts, (a) => a.version);
  const buildsBy = groupBy(builds, (b) => b.version_id);

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
  const targetNames = targets.map((t) => t.name).sort(compareTargets);
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
      const ownArtifacts = artifactsBy.get(v.version) ?? [];
      const servedTargets = new Map<number, string[]>();
      for (const t of targetNames) {
        const k = key(v.id, t);
        const b = buildBy.get(k);
        const skip = skipBy.get(k);
        const serving = !b && skip !== undefined ? servingArtifact(skip, ownArtifacts.filter((a) => a.target !== t)) : undefined;
        if (b) {
          cells[t] = {
            state: b.status === 'running' ? 'running' : (b.status as Cell['state']),
            buildId: b.id,
            reason: b.failure_reason ?? undefined,
            durationS: seconds(b.duration_ms),
            logUrl: b.status === 'running' ? undefined : logUrl(b.id),
            ...(b.status === 'running' ? { worker: b.worker_name ?? undefined, startedAt: utcMinute(b.started_at) } : {}),
            files: (filesBy.get(b.id) ?? []).map((a) => fileOf.get(a.id)!),
          };
        } else if (serving) {
          servedTargets.set(serving.id, [...(servedTargets.get(serving.id) ?? []), t]);
          cells[t] = {
            state: 'served',
            reason: skip,
            files: [],
            servedBy: { file: fileOf.get(serving.id)!, target: serving.target, buildId: serving.build_id, logUrl: logUrl(serving.build_id) },
          };
        } else if (skip !== undefined) {
          cells[t] = { state: 'skipped', reason: skip, files: [] };
        } else if (pendingSet.has(k)) {
          cells[t] = { state: 'queued', files: [] };
        } else {
          cells[t] = { state: 'not built', reason: pkg.skip ? 'package skipped' : undefined, files: [] };
        }
      }
      const files: ReleaseFile[] = ownArtifacts
        .filter((a) => typeof a.tags.for !== 'string' || !filesBy.get(a.build_id)!.some((o) => o.filename === a.tags.for))
        .map((a) => ({
          file: fileOf.get(a.id)!,
          target: a.target,
          buildId: a.build_id,
          targets: [a.target, ...(servedTargets.get(a.id) ?? [])].sort(compareTargets),
          tags: a.tags,
          dependencies: tagDependencies(a.tags),
          sidecars: filesBy.get(a.build_id)!.filter((o) => o.tags.for === a.filename).map((o) => fileOf.get(o.id)!),
        }));
      const history: BuildLine[] = (buildsBy.get(v.id) ?? []).map((b) => ({
        id: b.id,
        target: b.target,
        status: b.status,
        startedAt: utcMinute(b.started_at),
        durationS: seconds(b.duration_ms),
        worker: b.worker_name,
        ...(b.failure_reason ? { reason: b.failure_reason } : {}),
        ...(b.status === 'running' ? {} : { logUrl: logUrl(b.id) }),
      }));
      return {
        version: v.version,
        released: v.released.toISOString().slice(0, 10),
        skip: v.skip,
        yanked: v.yanked,
        yankedReason: typeof v.meta.yanked_reason === 'string' && v.meta.yanked_reason ? v.meta.yanked_reason : null,
        deprecated: typeof v.meta.deprecated === 'string' ? v.meta.deprecated : null,
        cells,
        ...(depsBy.has(v.version) ? { dependencies: [...depsBy.get(v.version)!].map(([kind, items]) => ({ kind, items: [...items].sort() })) } : {}),
        files,
        builds: history,
      };
    }),
  };
  return { page, repository };
}
