/**
 * Installing a package's build dependencies and compiling it with the
 * package's own tool, as `npm install` would have done on a user's machine.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { NpmBinaryField } from './manifest.ts';
import type { BuildPlan } from './plan.ts';
import { missingForCmakeJs, missingForNodeGyp, type Toolchain } from './worker-toolchain.ts';

/**
 * Drop devDependencies from the unpacked package.json: `npm install --omit=dev` still resolves
 * devDependencies, which can fail on versions long gone or needing newer Node.
 * @throws Error when package.json is missing or not JSON (caller reports a failed build).
 */
export async function pruneManifest(pkgDir: string): Promise<Record<string, unknown>> {
  const file = path.join(pkgDir, 'package.json');
  const pkg = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  delete pkg.devDependencies;
  await writeFile(file, JSON.stringify(pkg, null, 2) + '\n');
  return pkg;
}

/**
 * The environment every build command gets: our Node first on PATH, npm's node-gyp for tools that shell out to it,
 * and the local Node headers as `npm_config_nodedir`, which node-gyp and cmake-js (6 to 8, buildSystem.js) both
 * read instead of downloading headers from nodejs.org. `CMAKE_BUILD_PARALLEL_LEVEL` makes `cmake --build` (run by
 * cmake-js) use every core with the Makefile generator, on any cmake-js version (`--parallel` came with cmake-js 7).
 */
export function buildEnv(t: Toolchain, workDir: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: [t.nodeBinDir, process.env.PATH ?? '/usr/bin:/bin'].join(path.delimiter),
    HOME: process.env.HOME ?? workDir,
    // A cache inside the build keeps builds apart and works when the sandbox makes $HOME read-only.
    npm_config_cache: path.join(workDir, '.npm-cache'),
    npm_config_update_notifier: 'false',
    JOBS: 'max',
    CMAKE_BUILD_PARALLEL_LEVEL: String(availableParallelism()),
  };
  if (t.nodeGypJs) env.npm_config_node_gyp = t.nodeGypJs;
  if (t.nodeDir) env.npm_config_nodedir = t.nodeDir;
  return env;
}

/** The npm command line (npm's CLI run with our Node, so the build does not depend on which `npm` is on PATH). */
export function npmCommand(t: Toolchain, args: string[]): { cmd: string; args: string[] } {
  return t.npmCli ? { cmd: t.nodeBinary, args: [t.npmCli, ...args] } : { cmd: 'npm', args };
}

/** Arguments of the dependency install: production only, no scripts, nothing written beyond node_modules. */
export function npmInstallArgs(registry: string): string[] {
  return ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', `--registry=${registry}`];
}

/** One command that compiles the addon, or why there is none. */
export type CompileStep =
  | { kind: 'run'; tool: string; cmd: string; args: string[] }
  | { kind: 'untestable'; reason: string }
  | { kind: 'failed'; reason: string };

function nodePreGypBin(pkgDir: string): string | null {
  for (const p of ['node_modules/@mapbox/node-pre-gyp/bin/node-pre-gyp', 'node_modules/node-pre-gyp/bin/node-pre-gyp']) {
    if (existsSync(path.join(pkgDir, p))) return path.join(pkgDir, p);
  }
  return null;
}

/** The Node a cmake-js build is for (the worker's target facts). */
export interface CmakeJsRuntime {
  /** Node version, e.g. `20.20.2`. */
  version: string;
  /** `process.arch`, e.g. `x64`. */
  arch: string;
}

/**
 * The cmake-js command: `rebuild` with the package's own cmake-js.
 * - Headers: cmake-js takes Node's headers from `npm_config_nodedir` (buildEnv sets it), so it does not download
 *   them into ~/.cmake-js from nodejs.org, which the offline compile could not reach anyway. cmake-js 7+ builds
 *   packages with `binary.napi_versions` against the node-api-headers package (its own dependency) instead.
 * - `--runtime=node --runtime-version --arch`: a package.json `"cmake-js"` section naming Electron or NW.js would
 *   otherwise send cmake-js after that runtime's headers; this worker builds for its own Node.
 * - `--CDnapi_build_version=N` (N-API builds): the cmake variable CMakeLists.txt files use for `NAPI_VERSION`, as
 *   node-gyp's `napi_build_version` variable; cmake-js configures with `--no-warn-unused-cli`, so it is harmless
 *   when unused.
 * The addon lands in build/Release (cmake-js sets CMAKE_LIBRARY_OUTPUT_DIRECTORY), where the worker looks.
 */
function cmakeJsStep(plan: BuildPlan, binary: NpmBinaryField | null, t: Toolchain, pkgDir: string, node?: CmakeJsRuntime): CompileStep {
  const bin = path.join(pkgDir, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
  const napiHeaders = !!binary?.napi_versions && existsSync(path.join(pkgDir, 'node_modules', 'node-api-headers', 'package.json'));
  const missing = missingForCmakeJs(t, !napiHeaders);
  if (missing) return { kind: 'untestable', reason: missing };
  if (!existsSync(bin)) return { kind: 'failed', reason: 'the package uses cmake-js but does not depend on it' };
  const args = [bin, 'rebuild'];
  if (node) args.push('--runtime=node', `--runtime-version=${node.version}`, `--arch=${node.arch}`);
  if (plan.napiBuildVersion) args.push(`--CDnapi_build_version=${plan.napiBuildVersion}`);
  return { kind: 'run', tool: 'cmake-js', cmd: t.nodeBinary, args };
}

/**
 * Choose the compile command for a planned build, preferring the tool the
 * package itself uses: node-pre-gyp (its own installed copy) for
 * node-pre-gyp packages, cmake-js for cmake-js packages, otherwise
 * node-gyp, which is also prebuild-install's and node-gyp-build's fallback.
 * Missing tools are 'untestable' (the worker's fault, not the package's).
 */
export function compileStep(
  plan: BuildPlan,
  binary: NpmBinaryField | null,
  modulePathAbs: string | null,
  t: Toolchain,
  pkgDir: string,
  node?: CmakeJsRuntime,
): CompileStep {
  if (plan.client === 'rust') {
    return { kind: 'untestable', reason: 'Rust addons (neon/cargo-cp-artifact) are not built by this worker' };
  }
  if (plan.client === 'cmake-js') return cmakeJsStep(plan, binary, t, pkgDir, node);
  const missing = missingForNodeGyp(t);
  if (missing) return { kind: 'untestable', reason: missing };
  const nodedir = `--nodedir=${t.nodeDir}`;
  const napi = plan.napiBuildVersion ? [`--napi_build_version=${plan.napiBuildVersion}`] : [];
  const npg = plan.client === 'node-pre-gyp' ? nodePreGypBin(pkgDir) : null;
  if (npg && binary?.module_name) {
    // --build-latest-napi-version-only: node-pre-gyp would otherwise build once per napi_versions entry;
    // the latest one this Node supports is exactly plan.napiBuildVersion.
    const args = [npg, 'rebuild', '--build-from-source', nodedir];
    if (plan.napiBuildVersion && binary.napi_versions?.length) args.push('--build-latest-napi-version-only');
    return { kind: 'run', tool: 'node-pre-gyp', cmd: t.nodeBinary, args };
  }
  if (!existsSync(path.join(pkgDir, 'binding.gyp'))) {
    return { kind: 'failed', reason: `no binding.gyp, and ${plan.client} is not a build tool this worker can run without one` };
  }
  // node-gyp turns unknown --key=value options into gyp variables (create-config-gypi.js), which is how
  // node-pre-gyp passes module_name/module_path/napi_build_version to binding.gyp files that use them.
  const extra = [...napi];
  if (binary?.module_name && modulePathAbs) extra.push(`--module_name=${binary.module_name}`, `--module_path=${modulePathAbs}`);
  return { kind: 'run', tool: 'node-gyp', cmd: t.nodeBinary, args: [t.nodeGypJs!, 'rebuild', nodedir, '--jobs=max', ...extra] };
}
