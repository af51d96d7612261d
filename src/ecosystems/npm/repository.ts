/**
 * The npm repository Kiln publishes under `npm/`:
 *
 * - `npm/prebuilds/<name>/v<version>/<file>`: where prebuild-install looks
 *   when `npm_config_<name>_binary_host=<base>/npm/prebuilds/<name>` is set
 *   (it appends `/v{version}/{file}`, util.js `urlTemplate`). `<name>` is the
 *   full name, so scoped packages sit at `npm/prebuilds/@scope/name/`.
 * - `npm/node-pre-gyp/<name>/<remote_path><package_name>`: where
 *   node-pre-gyp looks when `npm_config_<module_name>_binary_host_mirror`
 *   is `<base>/npm/node-pre-gyp/<name>/`.
 * - `npm/index/<name>.json`: every published binary of the package, for
 *   scripts and the site.
 */
import type { PublishedArtifact, RepositoryFiles, RepositoryInput } from '../types.ts';
import { isSafeRelativePath } from './naming.ts';

/** The tags a worker puts on an npm artifact (see worker `build`). */
export interface NpmArtifactTags {
  kind: 'prebuild-install' | 'node-pre-gyp';
  runtime: 'node' | 'napi';
  abi: number;
  platform: string;
  arch: string;
  libc: string;
  /** Install client the package uses (plan.ts `InstallClient`). */
  client?: string;
  /** N-API build version, napi builds only. */
  napi?: number;
  /** node-pre-gyp only: path below the mirror root. */
  mirrorPath?: string;
  /** node-pre-gyp only: `binary.module_name`. */
  moduleName?: string;
}

/** One entry of `npm/index/<name>.json`. */
export interface NpmIndexEntry {
  filename: string;
  url: string;
  size: number;
  sha256: string;
  kind: string;
  runtime: string;
  abi: number | null;
}

/** The document at `npm/index/<name>.json`: versions → target → files. */
export interface NpmIndexDoc {
  name: string;
  versions: Record<string, Record<string, NpmIndexEntry[]>>;
}

/** The output-relative directory prebuild-install mirrors point at for a package. */
export function prebuildsRoot(name: string): string {
  return `npm/prebuilds/${name}`;
}

/** The output-relative directory a node-pre-gyp mirror points at for a package. */
export function nodePreGypRoot(name: string): string {
  return `npm/node-pre-gyp/${name}`;
}

/** `baseUrl` without trailing slashes, so paths can be appended with '/'. */
export function trimBase(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}

/**
 * Where one artifact goes, relative to the output path, or null when its
 * tags do not allow a safe path (the artifact is then left out).
 */
export function artifactPath(name: string, a: Pick<PublishedArtifact, 'filename' | 'version' | 'tags'>): string | null {
  if (!isSafeRelativePath(name) || !isSafeRelativePath(a.filename) || a.filename.includes('/')) return null;
  if (a.tags.kind === 'node-pre-gyp') {
    const mp = a.tags.mirrorPath;
    return typeof mp === 'string' && isSafeRelativePath(mp) ? `${nodePreGypRoot(name)}/${mp}` : null;
  }
  if (!isSafeRelativePath(`v${a.version}`)) return null;
  return `${prebuildsRoot(name)}/v${a.version}/${a.filename}`;
}

/**
 * Build the file map for one package: links to every artifact at the path
 * its client downloads, plus the JSON index.
 */
export function repositoryFiles(input: RepositoryInput): RepositoryFiles {
  const files: RepositoryFiles = new Map();
  const name = input.displayName;
  const base = trimBase(input.baseUrl);
  const doc: NpmIndexDoc = { name, versions: {} };
  const sorted = [...input.artifacts].sort((x, y) => x.version.localeCompare(y.version) || x.filename.localeCompare(y.filename));
  for (const a of sorted) {
    const rel = artifactPath(name, a);
    if (!rel) continue;
    files.set(rel, { linkFrom: a.storePath });
    const byTarget = (doc.versions[a.version] ??= {});
    (byTarget[a.target] ??= []).push({
      filename: a.filename,
      url: `${base}/${rel}`,
      size: a.size,
      sha256: a.sha256,
      kind: typeof a.tags.kind === 'string' ? a.tags.kind : 'prebuild-install',
      runtime: typeof a.tags.runtime === 'string' ? a.tags.runtime : 'node',
      abi: typeof a.tags.abi === 'number' ? a.tags.abi : null,
    });
  }
  if (isSafeRelativePath(name)) files.set(`npm/index/${name}.json`, { content: JSON.stringify(doc, null, 2) + '\n' });
  return files;
}
