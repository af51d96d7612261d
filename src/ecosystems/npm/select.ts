/**
 * Which versions of a package Kiln tracks, by the configured policy.
 */
import pickManifest from 'npm-pick-manifest';
import semver from 'semver';
import type { NpmPackument } from './manifest.ts';

/** `"latest"`, `"all"`, or a semver range. */
export type VersionPolicy = string;

/**
 * Check a policy string.
 * @throws Error when it is neither "latest", "all" nor a valid semver range.
 */
export function validatePolicy(policy: VersionPolicy): void {
  if (policy === 'latest' || policy === 'all') return;
  if (semver.validRange(policy, { loose: true }) === null) {
    throw new Error(`npm versions policy ${JSON.stringify(policy)} is not "latest", "all" or a semver range`);
  }
}

/**
 * The version `npm install <name>` picks on a given Node: npm-pick-manifest
 * with the `*` range a bare name resolves to, which prefers dist-tags.latest
 * and otherwise the newest non-deprecated version whose engines allow that
 * Node. Null when the packument has no installable version.
 */
export function versionNpmPicks(packument: NpmPackument, nodeVersion: string): string | null {
  try {
    const m = pickManifest(packument, '*', { nodeVersion }) as { version?: string } | null;
    return m?.version ?? null;
  } catch {
    return null;
  }
}

/**
 * The versions to track, newest first.
 * - "all": every published version.
 * - a semver range: versions satisfying it (prereleases only if the range names one).
 * - "latest": dist-tags.latest, plus for each of `nodeVersions` the version
 *   npm would install on that Node, so a Node 20 target builds what Node 20
 *   users get (better-sqlite3 12.x) while latest (13.x, Node 22 only) is
 *   still listed and its page can say why it was skipped.
 */
export function selectVersions(packument: NpmPackument, policy: VersionPolicy, nodeVersions: readonly string[] = []): string[] {
  const all = Object.keys(packument.versions ?? {}).filter((v) => semver.valid(v, { loose: true }) !== null);
  let chosen: string[];
  if (policy === 'all') {
    chosen = all;
  } else if (policy === 'latest') {
    const set = new Set<string>();
    const latest = packument['dist-tags']?.latest;
    if (latest && packument.versions?.[latest]) set.add(latest);
    for (const node of nodeVersions) {
      const v = versionNpmPicks(packument, node);
      if (v) set.add(v);
    }
    chosen = [...set];
  } else {
    chosen = all.filter((v) => semver.satisfies(v, policy, { loose: true }));
  }
  return chosen.sort((a, b) => semver.rcompare(a, b, { loose: true }));
}
