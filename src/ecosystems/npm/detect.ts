/**
 * Telling a native addon from its registry metadata. The signals and their
 * order come from measurements against the real registry (see
 * shared/reference/npm-prebuilds.md, "Telling a native package from its
 * metadata").
 */
import type { InstallScripts, NativeDetection, NpmManifest } from './manifest.ts';

/** Tools whose mention in an install script means the script builds or fetches an addon. */
const BUILD_TOOLS = [
  'node-gyp-build',
  'node-pre-gyp',
  'prebuild-install',
  'node-gyp',
  'cmake-js',
  'install-from-cache',
  'cargo-cp-artifact',
  'neon',
] as const;

/** Dependencies that only addons have. */
export const ADDON_DEPS = [
  'nan',
  'node-addon-api',
  'bindings',
  'node-gyp-build',
  'prebuild-install',
  '@mapbox/node-pre-gyp',
  'cmake-js',
] as const;

const LIFECYCLE = ['preinstall', 'install', 'postinstall'] as const;

/** The install-time lifecycle scripts of a manifest, dropping non-string junk. */
export function installScriptsOf(m: Pick<NpmManifest, 'scripts'>): InstallScripts {
  const out: InstallScripts = {};
  for (const k of LIFECYCLE) {
    const s = m.scripts?.[k];
    if (typeof s === 'string' && s.trim() !== '') out[k] = s;
  }
  return out;
}

/** Names from {@link ADDON_DEPS} the manifest depends on (regular or optional dependencies). */
export function addonDepsOf(m: Pick<NpmManifest, 'dependencies' | 'optionalDependencies'>): string[] {
  const names = new Set([...Object.keys(m.dependencies ?? {}), ...Object.keys(m.optionalDependencies ?? {})]);
  return ADDON_DEPS.filter((d) => names.has(d));
}

/** Which build tools a script mentions, as whole words (so `node-gyp-build` does not also count as `node-gyp`). */
export function toolsMentioned(script: string): string[] {
  const found: string[] = [];
  for (const tool of BUILD_TOOLS) {
    // Tool names contain '-', which \b treats as a boundary; spell the boundary out.
    const re = new RegExp(`(^|[^A-Za-z0-9_@.-])${tool.replace(/-/g, '\\-')}($|[^A-Za-z0-9_-])`);
    if (re.test(script)) found.push(tool);
  }
  return found;
}

/** The inputs of {@link detectNative}; a subset of a manifest so stored meta can be re-judged too. */
export interface DetectionInput {
  scripts: InstallScripts;
  gypfile: boolean | null;
  hasBinaryField: boolean;
  addonDeps: string[];
}

/**
 * Judge from metadata alone whether a version is a native addon.
 *
 * Signals, best first: an install-time script naming a build tool; then
 * `gypfile` (true = npm runs `node-gyp rebuild`, false = the author says
 * there is no build step, which overrides the weaker signals below); then a
 * `binary` field; then an addon-only dependency. No signal at all is
 * 'unclear', because npm also runs `node-gyp rebuild` for a tarball with a
 * top-level binding.gyp and no install script, which only the tarball shows.
 *
 * Pure; never throws.
 */
export function detectNative(input: DetectionInput): NativeDetection {
  const signals: string[] = [];
  for (const k of LIFECYCLE) {
    const s = input.scripts[k];
    if (!s) continue;
    for (const tool of toolsMentioned(s)) signals.push(`${k} script runs ${tool}`);
  }
  if (signals.length) return { verdict: 'native', signals };
  if (input.gypfile === true) return { verdict: 'native', signals: ['gypfile: true'] };
  if (input.gypfile === false) {
    // better-sqlite3 13 does this: node-addon-api, prebuilt binaries inside the tarball, nothing to build at install.
    const deps = input.addonDeps.length ? [`it depends on ${input.addonDeps.join(', ')}, so any binaries ship inside the tarball`] : [];
    return { verdict: 'not-native', signals: ['gypfile: false, so npm runs no build step', ...deps] };
  }
  if (input.hasBinaryField) signals.push('has a "binary" field');
  for (const d of input.addonDeps) signals.push(`depends on ${d}`);
  if (signals.length) return { verdict: 'native', signals };
  return { verdict: 'unclear', signals: [] };
}

/** {@link detectNative} straight from a registry manifest. */
export function detectNativeFromManifest(m: NpmManifest): NativeDetection {
  return detectNative({
    scripts: installScriptsOf(m),
    gypfile: typeof m.gypfile === 'boolean' ? m.gypfile : null,
    hasBinaryField: m.binary !== null && typeof m.binary === 'object',
    addonDeps: addonDepsOf(m),
  });
}

/** The text of the skip reason for a version judged not native. */
export function notNativeReason(d: NativeDetection): string {
  const why = d.signals.length
    ? d.signals.join('; ')
    : 'no install script, gypfile, binary field or addon dependency, and no binding.gyp in the tarball';
  return `not a native addon (${why})`;
}
