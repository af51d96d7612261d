/**
 * The parts of npm registry documents Kiln reads, and the per-version meta
 * Kiln stores. Registry formats:
 * - packument: https://github.com/npm/registry/blob/main/docs/responses/package-metadata.md
 * - package.json fields (`scripts`, `gypfile`, `binary`, `engines`):
 *   https://docs.npmjs.com/cli/v11/configuring-npm/package-json
 */
import type { Json } from '../types.ts';

/**
 * The `binary` field used by @mapbox/node-pre-gyp and (for `napi_versions`)
 * by prebuild-install. Templates use `{module_name}`, `{version}`,
 * `{node_abi}`, `{platform}`, `{arch}`, `{libc}`, `{napi_build_version}`…
 * See https://github.com/mapbox/node-pre-gyp#readme.
 */
export interface NpmBinaryField {
  module_name?: string;
  module_path?: string;
  host?: string;
  remote_path?: string;
  package_name?: string;
  napi_versions?: number[];
  [key: string]: unknown;
}

/** One version's manifest inside a full packument (only fields Kiln reads). */
export interface NpmManifest {
  name: string;
  version: string;
  description?: string;
  main?: string;
  scripts?: Record<string, string>;
  gypfile?: boolean;
  binary?: NpmBinaryField;
  config?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  engines?: Record<string, string> | string[];
  deprecated?: string | boolean;
  dist: { tarball: string; integrity?: string; shasum?: string };
}

/** A full packument (`Accept: application/json`), which carries `time`. */
export interface NpmPackument {
  name: string;
  description?: string;
  'dist-tags'?: Record<string, string>;
  versions?: Record<string, NpmManifest>;
  /** ISO dates per version, plus `created`, `modified` and, once unpublished, `unpublished`. */
  time?: Record<string, unknown>;
  homepage?: string;
  repository?: unknown;
}

/** How sure Kiln is that a version contains a native addon. */
export type NativeVerdict = 'native' | 'not-native' | 'unclear';

/** The outcome of native detection: the verdict and the evidence, best first. */
export interface NativeDetection {
  verdict: NativeVerdict;
  /** Human-readable evidence, e.g. `install script runs prebuild-install`. */
  signals: string[];
}

/** The lifecycle scripts npm runs at install time (the only ones that can build an addon). */
export interface InstallScripts {
  preinstall?: string;
  install?: string;
  postinstall?: string;
}

/**
 * What Kiln keeps in `versions.meta` for one npm version. Stored as JSON, so
 * read it back with {@link readVersionMeta}, never by casting.
 */
export interface NpmVersionMeta {
  /** Tarball URL from `dist.tarball`. */
  tarball: string;
  /** Subresource Integrity string: `dist.integrity`, else `sha1-<base64>` made from `dist.shasum`. */
  integrity: string;
  /** `engines.node` range, or null when the package states none. */
  enginesNode: string | null;
  native: NativeDetection;
  binary: NpmBinaryField | null;
  scripts: InstallScripts;
  /** Dependency names among the addon helpers detection looks for. */
  addonDeps: string[];
  /** `gypfile` as published, or null when absent. */
  gypfile: boolean | null;
  /** package.json `config.runtime` (prebuild-install reads it to pick napi), or null. */
  configRuntime: string | null;
  /** package.json `main` (node-pre-gyp exposes it as `{module_main}`), or null. */
  main: string | null;
  /** Deprecation message, when the version is deprecated. */
  deprecated?: string;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function obj(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/**
 * Read a `binary` field defensively: registry data is whatever authors
 * published, so keep only well-typed keys.
 */
export function readBinaryField(v: unknown): NpmBinaryField | null {
  const o = obj(v);
  if (!o) return null;
  const out: NpmBinaryField = {};
  for (const [k, val] of Object.entries(o)) {
    if (k === 'napi_versions') {
      if (Array.isArray(val)) {
        const nums = val.map((x) => Number(x)).filter((n) => Number.isInteger(n) && n > 0);
        out.napi_versions = [...new Set(nums)];
      }
    } else if (typeof val === 'string' || typeof val === 'boolean' || typeof val === 'number') {
      out[k] = val;
    }
  }
  return out;
}

/**
 * Read {@link NpmVersionMeta} back from a stored JSON object.
 * @throws Error when a required key (`tarball`, `integrity`) is missing,
 *   which means the row was not written by this ecosystem.
 */
export function readVersionMeta(meta: Json): NpmVersionMeta {
  const tarball = str(meta.tarball);
  const integrity = str(meta.integrity);
  if (!tarball || !integrity) throw new Error('npm version meta lacks tarball or integrity');
  const native = obj(meta.native);
  const scripts = obj(meta.scripts) ?? {};
  const out: NpmVersionMeta = {
    tarball,
    integrity,
    enginesNode: str(meta.enginesNode),
    native: {
      verdict: (str(native?.verdict) as NativeVerdict | null) ?? 'unclear',
      signals: Array.isArray(native?.signals) ? native.signals.filter((s): s is string => typeof s === 'string') : [],
    },
    binary: readBinaryField(meta.binary),
    scripts: {},
    addonDeps: Array.isArray(meta.addonDeps) ? meta.addonDeps.filter((s): s is string => typeof s === 'string') : [],
    gypfile: typeof meta.gypfile === 'boolean' ? meta.gypfile : null,
    configRuntime: str(meta.configRuntime),
    main: str(meta.main),
  };
  for (const k of ['preinstall', 'install', 'postinstall'] as const) {
    const s = str(scripts[k]);
    if (s) out.scripts[k] = s;
  }
  const dep = str(meta.deprecated);
  if (dep) out.deprecated = dep;
  return out;
}

/** The `engines.node` range of a manifest, or null (array-form `engines` is an old, ignored npm form). */
export function enginesNodeOf(m: Pick<NpmManifest, 'engines'>): string | null {
  const e = m.engines;
  if (!e || Array.isArray(e)) return null;
  return typeof e.node === 'string' && e.node.trim() !== '' ? e.node.trim() : null;
}

/**
 * The integrity to verify a tarball against: `dist.integrity` (sha512 SRI),
 * or for old publishes the hex `dist.shasum` turned into `sha1-<base64>`.
 * @throws Error when the manifest has neither.
 */
export function integrityOf(m: Pick<NpmManifest, 'dist' | 'name' | 'version'>): string {
  if (m.dist.integrity) return m.dist.integrity;
  if (m.dist.shasum && /^[0-9a-f]{40}$/i.test(m.dist.shasum)) {
    return `sha1-${Buffer.from(m.dist.shasum, 'hex').toString('base64')}`;
  }
  throw new Error(`${m.name}@${m.version} has neither dist.integrity nor dist.shasum`);
}
