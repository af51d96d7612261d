/**
 * Which target builds a version, and which files that build must produce.
 *
 * Building one version for both the node-ABI and the N-API target would be
 * the same compile twice, so each version goes to the one target whose
 * binaries its users' install client will actually ask for:
 * - prebuild-install asks for `napi` only when run with `-r napi` /
 *   `--runtime napi` (or package.json `config.runtime: "napi"`), and then
 *   names the file after the best of `binary.napi_versions` (rc.js, napi.js).
 * - node-pre-gyp builds and downloads per N-API version whenever
 *   `binary.napi_versions` is set (lib/util/napi.js `expand_commands`).
 * - Packages with no download client (node-gyp-build, plain node-gyp,
 *   cmake-js) go to N-API when they declare `napi_versions` or build on
 *   node-addon-api without nan; otherwise to the node-ABI target. The worker
 *   checks the guess: an N-API build that imports V8 symbols fails.
 */
import semver from 'semver';
import { toolsMentioned } from './detect.ts';
import type { NpmVersionMeta } from './manifest.ts';
import {
  bestNapiVersion,
  isSafeRelativePath,
  nodePreGypLayout,
  nodePreGypMirrorPath,
  prebuildInstallFilename,
  type NodePreGypLayout,
} from './naming.ts';
import type { NpmRuntime, NpmTargetFacts } from './targets.ts';

/** The tool that fetches or builds the addon when a user runs `npm install`. */
export type InstallClient = 'prebuild-install' | 'node-pre-gyp' | 'cmake-js' | 'rust' | 'node-gyp-build' | 'node-gyp';

/** The install client, judged from install scripts (download clients first, since scripts read `prebuild-install || node-gyp rebuild`). */
export function installClientOf(meta: Pick<NpmVersionMeta, 'scripts'>): InstallClient {
  const tools = new Set(Object.values(meta.scripts).flatMap((s) => (s ? toolsMentioned(s) : [])));
  if (tools.has('node-pre-gyp')) return 'node-pre-gyp';
  if (tools.has('prebuild-install')) return 'prebuild-install';
  if (tools.has('cmake-js')) return 'cmake-js';
  if (tools.has('neon') || tools.has('cargo-cp-artifact')) return 'rust';
  if (tools.has('node-gyp-build')) return 'node-gyp-build';
  return 'node-gyp';
}

const NAPI_FLAG = /(^|\s)(-r|--runtime)(\s+|=)napi(\s|$|[;&|)])/;

/** The runtime a version's users will request, and why (for skip reasons and the site). */
export function requestedRuntime(meta: NpmVersionMeta): { runtime: NpmRuntime; client: InstallClient; why: string } {
  const client = installClientOf(meta);
  const napiVersions = meta.binary?.napi_versions ?? [];
  if (client === 'prebuild-install') {
    const script = Object.values(meta.scripts).find((s) => s && toolsMentioned(s).includes('prebuild-install')) ?? '';
    if (NAPI_FLAG.test(script)) return { runtime: 'napi', client, why: 'prebuild-install runs with -r napi' };
    if (meta.configRuntime === 'napi') return { runtime: 'napi', client, why: 'package.json config.runtime is napi' };
    return { runtime: 'node', client, why: 'prebuild-install requests node-ABI binaries' };
  }
  if (napiVersions.length) return { runtime: 'napi', client, why: `binary.napi_versions is [${napiVersions.join(', ')}]` };
  if (client === 'node-pre-gyp') return { runtime: 'node', client, why: 'node-pre-gyp without napi_versions requests node-ABI binaries' };
  if (meta.addonDeps.includes('node-addon-api') && !meta.addonDeps.includes('nan')) {
    return { runtime: 'napi', client, why: 'built on node-addon-api' };
  }
  return { runtime: 'node', client, why: 'no sign of N-API' };
}

/** One file a build must produce. */
export interface ExpectedArtifact {
  kind: 'prebuild-install' | 'node-pre-gyp';
  /** Artifact name, unique within the build. */
  filename: string;
  runtime: NpmRuntime;
  /** The number in the file name: NODE_MODULE_VERSION, or the N-API version. */
  abi: number;
  /** node-pre-gyp only: where node-pre-gyp looks, and the path below the mirror root. */
  nodePreGyp?: NodePreGypLayout & { mirrorPath: string };
}

/** Everything decided about building one version for one target. */
export interface BuildPlan {
  runtime: NpmRuntime;
  client: InstallClient;
  why: string;
  /** N-API version to build for (napi target only), or null. */
  napiBuildVersion: number | null;
  expected: ExpectedArtifact[];
}

/**
 * Plan the build of one version for one target, or say why it must not run.
 * Pure. Checks, in order: native verdict, engines.node against the target's
 * Node, routing to the other target, and a usable N-API version.
 */
export function planBuild(
  pkgName: string,
  version: string,
  meta: NpmVersionMeta,
  t: NpmTargetFacts,
): { plan: BuildPlan; skip: null } | { plan: null; skip: string } {
  if (meta.native.verdict === 'not-native') return { plan: null, skip: 'not a native addon' };
  if (meta.enginesNode && !semver.satisfies(t.node, meta.enginesNode, { includePrerelease: true, loose: true })) {
    return { plan: null, skip: `engines.node "${meta.enginesNode}" excludes Node ${t.node}` };
  }
  const req = requestedRuntime(meta);
  const plat = `${t.platform}${t.libc}-${t.arch}`;
  if (req.runtime !== t.runtime) {
    return {
      plan: null,
      skip:
        req.runtime === 'napi'
          ? `N-API addon (${req.why}): built for napi-${plat} instead`
          : `node-ABI addon (${req.why}): built for node-v${t.abi}-${plat} instead`,
    };
  }
  let napiBuildVersion: number | null = null;
  let abi = t.abi;
  if (t.runtime === 'napi') {
    const declared = meta.binary?.napi_versions ?? [];
    napiBuildVersion = bestNapiVersion(declared, t.napi);
    if (declared.length && napiBuildVersion === null) {
      return { plan: null, skip: `binary.napi_versions [${declared.join(', ')}] are all above N-API ${t.napi} of Node ${t.node}` };
    }
    // prebuild-install -r napi without napi_versions asks for napi-v<NODE_MODULE_VERSION> (rc.js falls back to
    // process.versions.modules); other napi packages get the target's N-API version as a label.
    if (napiBuildVersion === null && req.client !== 'prebuild-install') napiBuildVersion = t.napi;
    abi = napiBuildVersion ?? t.abi;
  }
  const expected: ExpectedArtifact[] = [];
  const pbFile = prebuildInstallFilename({ name: pkgName, version, runtime: t.runtime, abi, platform: t.platform, libc: t.libc, arch: t.arch });
  expected.push({ kind: 'prebuild-install', filename: pbFile, runtime: t.runtime, abi });
  const layout = nodePreGypLayout({ name: pkgName, version, main: meta.main, binary: meta.binary }, t, t.runtime === 'napi' ? napiBuildVersion : null);
  if (layout) {
    const mirrorPath = nodePreGypMirrorPath(layout);
    const modulePathOk = isSafeRelativePath(layout.modulePath.replace(/^\.\//, '').replace(/\/+$/, ''));
    if (mirrorPath && modulePathOk) {
      let filename = mirrorPath.replace(/\//g, '-');
      if (filename === pbFile) filename = `node-pre-gyp-${filename}`;
      expected.push({ kind: 'node-pre-gyp', filename, runtime: t.runtime, abi, nodePreGyp: { ...layout, mirrorPath } });
    }
  }
  return { plan: { runtime: t.runtime, client: req.client, why: req.why, napiBuildVersion, expected }, skip: null };
}
