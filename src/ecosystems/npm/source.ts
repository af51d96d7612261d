/**
 * Turning a packument into Kiln's SourcePackage: version selection, release
 * times, native detection (with a tarball look when metadata says nothing)
 * and the per-version meta the master and workers need later.
 */
import type { Json, SourcePackage, SourceVersion } from '../types.ts';
import { addonDepsOf, detectNativeFromManifest, installScriptsOf, notNativeReason } from './detect.ts';
import {
  enginesNodeOf,
  integrityOf,
  readBinaryField,
  type NativeDetection,
  type NpmManifest,
  type NpmPackument,
  type NpmVersionMeta,
} from './manifest.ts';
import { selectVersions, type VersionPolicy } from './select.ts';

/**
 * Looks inside a version's tarball for `binding.gyp`; the caller caches.
 * @throws Error on download failures (the version's sync then fails).
 */
export type TarballPeek = (name: string, version: string, tarballUrl: string) => Promise<boolean>;

/** Normalise an npm name the way Kiln keys it: trimmed and lower-cased (new npm names must be lower-case). */
export function normalizeNpmName(name: string): string {
  return name.trim().toLowerCase();
}

/** Whether a packument describes an unpublished package: `time.unpublished` and no versions left. */
export function isUnpublished(doc: NpmPackument): boolean {
  return Boolean(doc.time && doc.time.unpublished) && Object.keys(doc.versions ?? {}).length === 0;
}

function releaseTime(doc: NpmPackument, version: string): Date {
  const t = doc.time?.[version];
  const d = typeof t === 'string' ? new Date(t) : null;
  if (d && !Number.isNaN(d.getTime())) return d;
  // Some very old packuments lack per-version times; 'created' keeps them ordered behind newer ones.
  const created = typeof doc.time?.created === 'string' ? new Date(doc.time.created) : null;
  return created && !Number.isNaN(created.getTime()) ? created : new Date(0);
}

/**
 * Build the stored meta of one version, resolving an 'unclear' verdict by
 * peeking into the tarball (skipped when `peek` is null).
 */
export async function versionMeta(m: NpmManifest, peek: TarballPeek | null): Promise<NpmVersionMeta> {
  let native: NativeDetection = detectNativeFromManifest(m);
  if (native.verdict === 'unclear' && peek) {
    native = (await peek(m.name, m.version, m.dist.tarball))
      ? { verdict: 'native', signals: ['binding.gyp in the tarball (npm runs node-gyp rebuild)'] }
      : { verdict: 'not-native', signals: [] };
  }
  const meta: NpmVersionMeta = {
    tarball: m.dist.tarball,
    integrity: integrityOf(m),
    enginesNode: enginesNodeOf(m),
    native,
    binary: readBinaryField(m.binary),
    scripts: installScriptsOf(m),
    addonDeps: addonDepsOf(m),
    gypfile: typeof m.gypfile === 'boolean' ? m.gypfile : null,
    configRuntime: typeof m.config?.runtime === 'string' ? m.config.runtime : null,
    main: typeof m.main === 'string' ? m.main : null,
  };
  if (m.deprecated) meta.deprecated = typeof m.deprecated === 'string' ? m.deprecated : 'deprecated';
  return meta;
}

/**
 * Convert a packument to a SourcePackage listing every published version.
 * Versions the policy does not select are skipped with a reason saying so
 * (and get no tarball look), rather than left out: left out would make the
 * core call them "unpublished" each time "latest" moves on. An unpublished
 * package yields zero versions, so the core marks every version it knew as gone.
 * @throws Error when a selected version's manifest is unusable (no tarball
 *   or integrity) or its tarball cannot be inspected.
 */
export async function toSourcePackage(
  doc: NpmPackument,
  policy: VersionPolicy,
  nodeVersions: readonly string[],
  peek: TarballPeek,
): Promise<SourcePackage> {
  const displayName = doc.name;
  const packageMeta: Json = {
    distTags: doc['dist-tags'] ?? {},
    homepage: typeof doc.homepage === 'string' ? doc.homepage : null,
  };
  if (isUnpublished(doc)) {
    return { name: normalizeNpmName(displayName), displayName, summary: null, meta: { ...packageMeta, unpublished: true }, versions: [] };
  }
  const selected = new Set(selectVersions(doc, policy, nodeVersions));
  const versions: SourceVersion[] = [];
  for (const v of selectVersions(doc, 'all')) {
    const m = doc.versions?.[v];
    const chosen = selected.has(v);
    if (!m?.dist?.tarball) {
      if (chosen) throw new Error(`${displayName}@${v} has no dist.tarball`);
      continue;
    }
    let meta: NpmVersionMeta;
    try {
      meta = await versionMeta({ ...m, name: m.name ?? displayName, version: v }, chosen ? peek : null);
    } catch (err) {
      // A broken old version Kiln will not build must not fail the whole package.
      if (chosen) throw err;
      continue;
    }
    let skip: string | null = null;
    if (!chosen) skip = `not selected by the versions policy "${policy}"`;
    else if (meta.native.verdict === 'not-native') skip = notNativeReason(meta.native);
    versions.push({ version: v, released: releaseTime(doc, v), skip, yanked: false, meta: meta as unknown as Json });
  }
  const latest = doc['dist-tags']?.latest;
  const summary = (latest && doc.versions?.[latest]?.description) || doc.description || null;
  return { name: normalizeNpmName(displayName), displayName, summary, meta: packageMeta, versions };
}
