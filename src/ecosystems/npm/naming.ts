/**
 * Artifact names and paths exactly as the two download clients compute
 * them, so Kiln's files sit where an unmodified client looks.
 *
 * - prebuild-install (util.js `getDownloadUrl`/`urlTemplate`, rc.js, napi.js):
 *   https://github.com/prebuild/prebuild-install
 * - @mapbox/node-pre-gyp (lib/util/versioning.js `evaluate`, lib/util/napi.js,
 *   lib/package.js, lib/install.js): https://github.com/mapbox/node-pre-gyp
 */
import path from 'node:path';
import semver from 'semver';
import type { NpmBinaryField } from './manifest.ts';
import type { NpmRuntime } from './targets.ts';

/**
 * The name prebuild-install puts in file names: the package name without
 * its scope. prebuild-install 7 (lib util.js, `getDownloadUrl`) strips
 * `/^@[a-zA-Z0-9_\-.~]+\//`, which covers every valid npm scope.
 */
export function prebuildInstallName(pkgName: string): string {
  return pkgName.replace(/^@[a-zA-Z0-9_\-.~]+\//, '');
}

/** Inputs of a prebuild-install asset name. */
export interface PrebuildNameInput {
  /** Full package name, scoped or not. */
  name: string;
  version: string;
  runtime: NpmRuntime;
  /** NODE_MODULE_VERSION for `node`, the N-API build version for `napi`. */
  abi: number;
  platform: string;
  /** '' for glibc, 'musl'. */
  libc: string;
  arch: string;
}

/**
 * The path prebuild-install requests below a `<name>_binary_host` mirror:
 * `v{version}/{name}-v{version}-{runtime}-v{abi}-{platform}{libc}-{arch}.tar.gz`.
 */
export function prebuildInstallPath(p: PrebuildNameInput): string {
  const n = prebuildInstallName(p.name);
  return `v${p.version}/${n}-v${p.version}-${p.runtime}-v${p.abi}-${p.platform}${p.libc}-${p.arch}.tar.gz`;
}

/** The artifact file name of a prebuild-install asset: the last segment of {@link prebuildInstallPath}. */
export function prebuildInstallFilename(p: PrebuildNameInput): string {
  return path.posix.basename(prebuildInstallPath(p));
}

/** The Node a node-pre-gyp template is evaluated for. */
export interface NodePreGypTarget {
  abi: number;
  napi: number;
  platform: string;
  arch: string;
  libc: '' | 'musl';
}

/**
 * The substitution variables node-pre-gyp's `evaluate()` offers templates,
 * for one package version, one Node and one N-API build version (null when
 * not building for N-API).
 * @throws Error when `version` is not valid semver.
 */
export function nodePreGypVars(
  pkg: { name: string; version: string; main: string | null; binary: NpmBinaryField },
  t: NodePreGypTarget,
  napiBuildVersion: number | null,
): Record<string, unknown> {
  const v = semver.parse(pkg.version);
  if (!v) throw new Error(`not a semver version: ${pkg.version}`);
  const nodeAbi = `node-v${t.abi}`;
  // detect-libc's familySync() gives 'glibc' or 'musl' on Linux and null elsewhere, which node-pre-gyp turns into 'unknown'.
  const libc = t.platform === 'linux' ? (t.libc === 'musl' ? 'musl' : 'glibc') : 'unknown';
  return {
    name: pkg.name,
    configuration: 'Release',
    debug: undefined,
    module_name: pkg.binary.module_name,
    version: v.version,
    prerelease: v.prerelease.join('.'),
    build: v.build.join('.'),
    major: v.major,
    minor: v.minor,
    patch: v.patch,
    runtime: 'node',
    node_abi: nodeAbi,
    node_abi_napi: t.napi ? 'napi' : nodeAbi,
    napi_version: t.napi || undefined,
    napi_build_version: napiBuildVersion ?? '',
    node_napi_label: napiBuildVersion ? `napi-v${napiBuildVersion}` : nodeAbi,
    target: '',
    platform: t.platform,
    target_platform: t.platform,
    arch: t.arch,
    target_arch: t.arch,
    libc,
    module_main: pkg.main ?? undefined,
    toolset: '',
    bucket: pkg.binary.bucket,
    region: pkg.binary.region,
    s3ForcePathStyle: pkg.binary.s3ForcePathStyle || false,
  };
}

/**
 * Substitute `{key}` for every key of `vars`, like node-pre-gyp's
 * `eval_template`: every occurrence, unknown placeholders left alone, and
 * undefined values spelled "undefined" (String.replace does that).
 */
export function evalTemplate(template: string, vars: Record<string, unknown>): string {
  let out = template;
  for (const [key, value] of Object.entries(vars)) out = out.split(`{${key}}`).join(String(value));
  return out;
}

/** Where node-pre-gyp expects one build, evaluated for one Node. */
export interface NodePreGypLayout {
  moduleName: string;
  /** Evaluated `module_path` relative to the package root, e.g. `./lib/binding/napi-v3`. */
  modulePath: string;
  /** The single top-level directory in the tarball: `path.basename(modulePath)` (lib/package.js packs that directory). */
  tarDir: string;
  /** Evaluated `remote_path` with one trailing '/', or '' when unset. */
  remotePath: string;
  /** Evaluated `package_name`. */
  packageName: string;
}

const DEFAULT_PACKAGE_NAME = '{module_name}-v{version}-{node_abi}-{platform}-{arch}.tar.gz';

/**
 * Evaluate a package's node-pre-gyp `binary` field.
 * @returns null when the field lacks `module_name` or `module_path` (then it
 *   is not a node-pre-gyp field; prebuild-install packages carry a `binary`
 *   with only `napi_versions`).
 */
export function nodePreGypLayout(
  pkg: { name: string; version: string; main: string | null; binary: NpmBinaryField | null },
  t: NodePreGypTarget,
  napiBuildVersion: number | null,
): NodePreGypLayout | null {
  const b = pkg.binary;
  if (!b || typeof b.module_name !== 'string' || typeof b.module_path !== 'string') return null;
  const vars = nodePreGypVars({ ...pkg, binary: b }, t, napiBuildVersion);
  const modulePath = evalTemplate(b.module_path, vars);
  let remotePath = '';
  if (typeof b.remote_path === 'string' && b.remote_path !== '') {
    // versioning.js: drop_double_slashes(fix_slashes(eval_template(remote_path)))
    remotePath = evalTemplate(b.remote_path, vars);
    if (!remotePath.endsWith('/')) remotePath += '/';
    remotePath = remotePath.replace(/\/\//g, '/');
  }
  const packageName = evalTemplate(typeof b.package_name === 'string' ? b.package_name : DEFAULT_PACKAGE_NAME, vars);
  return {
    moduleName: b.module_name,
    modulePath,
    tarDir: path.posix.basename(modulePath.replace(/\/+$/, '')),
    remotePath,
    packageName,
  };
}

/**
 * The path, below a `<module_name>_binary_host_mirror` root, that node-pre-gyp
 * downloads. It resolves like `url.resolve(url.resolve(host + '/', remote_path), package_name)`,
 * so a remote_path starting with '/' escapes the mirror root.
 * @returns the decoded relative path, or null when it escapes the root or
 *   is unsafe to write (`..` segments).
 */
export function nodePreGypMirrorPath(layout: Pick<NodePreGypLayout, 'remotePath' | 'packageName'>): string | null {
  const root = 'http://mirror.invalid/root/';
  let u: URL;
  try {
    u = new URL(layout.packageName, new URL(layout.remotePath, root));
  } catch {
    return null;
  }
  if (u.origin !== 'http://mirror.invalid' || !u.pathname.startsWith('/root/')) return null;
  const rel = u.pathname.slice('/root/'.length).split('/').map(decodeURIComponent).join('/');
  return isSafeRelativePath(rel) ? rel : null;
}

/** True for a non-empty relative POSIX path with no `..`, `.` or empty segments and no backslashes. */
export function isSafeRelativePath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\\') || p.includes('\0')) return false;
  return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** The highest of `napiVersions` not above `nodeNapi`, as both clients pick it; null when none fits. */
export function bestNapiVersion(napiVersions: readonly number[] | undefined, nodeNapi: number): number | null {
  let best = 0;
  for (const v of napiVersions ?? []) if (v > best && v <= nodeNapi) best = v;
  return best === 0 ? null : best;
}

/**
 * The environment variable prebuild-install reads for a per-package host:
 * `npm_config_` + the full name with every non-alphanumeric turned into '_' + `_binary_host`.
 */
export function prebuildHostEnvVar(pkgName: string): string {
  return `npm_config_${pkgName.replace(/[^a-zA-Z0-9]/g, '_')}_binary_host`;
}

/**
 * The environment variable node-pre-gyp reads for a mirror: it replaces only
 * the first '-' of module_name (`module_name.replace('-', '_')`).
 */
export function nodePreGypMirrorEnvVar(moduleName: string): string {
  return `npm_config_${moduleName.replace('-', '_')}_binary_host_mirror`;
}
