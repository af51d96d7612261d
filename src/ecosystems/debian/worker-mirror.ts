/**
 * The worker's own copy of a section's Packages indexes, which piuparts-slave
 * checks every reserved version against before it runs piuparts.
 *
 * An index is `<mirror>/dists/<distro>/<component>/binary-<arch>/Packages`,
 * fetched as `Packages.xz`, else `Packages.gz`, else `Packages`
 * (piupartslib's open_packages_url order, less `.bz2`), from `http(s)://`
 * with Node's fetch or from `file://`. It is kept under
 * `<cacheDir>/packages/` for up to an hour; a lookup that misses the
 * version it expects fetches the indexes once more before it gives up, so
 * a mirror that moved on since the last fetch is seen at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { fetchIndex as fetchMirrorIndex, packagesPath } from './mirror.ts';
import { parseControl } from './control.ts';
import { indexLineBatches, openIndexFile } from './index-file.ts';
import { compareDebianVersions } from './version.ts';
import type { FoundPackage } from './worker-classify.ts';

/** How long a fetched index is used before it is fetched again, seconds. */
export const PACKAGES_MAX_AGE_S = 3600;

/** One Packages index of a mirror. */
export interface IndexLocation {
  /** Archive root, `http(s)://…` or `file:///…`, without a trailing slash. */
  mirror: string;
  distro: string;
  component: string;
  /** Debian architecture, e.g. `amd64`. */
  arch: string;
}

/** Where and how indexes are cached. */
export interface MirrorOptions {
  /** The worker's cache directory; indexes go to `<cacheDir>/packages/`. */
  cacheDir: string;
  /** Seconds a cached index is used (default {@link PACKAGES_MAX_AGE_S}). */
  maxAgeS?: number;
  /** Aborts downloads. */
  signal?: AbortSignal;
}

/** The index's URL without its compression suffix. */
export function packagesUrl(loc: IndexLocation): string {
  return `${loc.mirror}/dists/${loc.distro}/${loc.component}/binary-${loc.arch}/Packages`;
}

/** The cache directory of one index: readable, and unique per URL. */
function cacheDirOf(loc: IndexLocation, cacheDir: string): string {
  const hash = createHash('sha256').update(packagesUrl(loc)).digest('hex').slice(0, 12);
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._+-]/g, '_');
  return path.join(cacheDir, 'packages', `${safe(loc.distro)}_${safe(loc.component)}_${safe(loc.arch)}_${hash}`);
}

/** The cached copy of an index in `dir`, if any: path and age in seconds. */
async function cachedCopy(dir: string): Promise<{ file: string; ageS: number } | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  let best: { file: string; mtimeMs: number } | null = null;
  for (const name of names) {
    if (!/^Packages(\.xz|\.gz)?$/.test(name)) continue;
    const file = path.join(dir, name);
    const st = await stat(file).catch(() => null);
    if (st && (!best || st.mtimeMs > best.mtimeMs)) best = { file, mtimeMs: st.mtimeMs };
  }
  return best && { file: best.file, ageS: (Date.now() - best.mtimeMs) / 1000 };
}

/**
 * Fetch an index into its cache directory now (see mirror.ts: `.xz`, `.gz`,
 * then no suffix; written under a temporary name and renamed, so concurrent
 * readers see the old copy or the new one; If-Modified-Since over http). A
 * `file://` mirror is read in place.
 * @returns the index file.
 * @throws MirrorError naming the URL when none of the three exists, or the
 *   download fails (a worker fault).
 */
export async function fetchIndex(loc: IndexLocation, opts: MirrorOptions): Promise<string> {
  const dir = cacheDirOf(loc, opts.cacheDir);
  await mkdir(dir, { recursive: true });
  const got = await fetchMirrorIndex(loc.mirror, packagesPath(loc.distro, loc.component, loc.arch), path.join(dir, 'Packages'), opts.signal);
  const name = path.basename(got.path);
  const file = path.join(dir, name);
  if (got.path !== file) {
    // A file:// mirror is read in place by mirror.ts; the worker keeps its own copy, as of now, like piuparts-slave.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await copyFile(got.path, tmp);
    await rename(tmp, file);
  }
  // The copy carries the server's date; mark it fetched now for the max-age check.
  await utimes(file, new Date(), new Date());
  for (const other of ['Packages.xz', 'Packages.gz', 'Packages']) if (other !== name) await rm(path.join(dir, other), { force: true });
  return file;
}

const inFlight = new Map<string, Promise<string>>();

/**
 * The cached index, fetched first when there is none, it is older than
 * `maxAgeS`, or `force` is set. Concurrent calls for one index in this
 * process share one download.
 * @returns the file and whether this call fetched it.
 * @throws as {@link fetchIndex}.
 */
export async function cachedIndex(loc: IndexLocation, opts: MirrorOptions, force = false): Promise<{ file: string; fetched: boolean }> {
  const dir = cacheDirOf(loc, opts.cacheDir);
  const copy = force ? null : await cachedCopy(dir);
  if (copy && copy.ageS <= (opts.maxAgeS ?? PACKAGES_MAX_AGE_S)) return { file: copy.file, fetched: false };
  let p = inFlight.get(dir);
  if (!p) {
    p = fetchIndex(loc, opts).finally(() => inFlight.delete(dir));
    inFlight.set(dir, p);
  }
  return { file: await p, fetched: true };
}

/** Whether a raw line is the field `Package: <name>` (field names compare case-insensitively). */
function isPackageLine(line: string, name: string): boolean {
  return line.length > 8 && line.slice(0, 8).toLowerCase() === 'package:' && line.slice(8).trim() === name;
}

/**
 * Find a package's paragraph in an index file (any compression
 * index-file.ts reads), keeping the raw lines. Only paragraphs with a
 * `Package: <name>` line go through the control parser, so a 60,000
 * package index is read in about the time `xz -dc` takes. When the name
 * appears more than once the highest version wins, as in piupartslib's
 * PackagesFile.
 * @returns the paragraph, or null when the index does not list the name.
 * @throws IndexFileError, ControlSyntaxError (in the package's own
 *   paragraph), or the file's read error.
 */
export async function findInIndex(file: string, name: string): Promise<FoundPackage | null> {
  let best: FoundPackage | null = null;
  let raw: string[] = [];
  let hit = false;
  const paragraphEnds = () => {
    if (hit) {
      const [p] = parseControl(raw.join('\n'));
      const version = p?.get('Version');
      if (p?.get('Package') === name && version && (!best || compareDebianVersions(version, best.version) > 0)) {
        best = { version, stanza: raw.map((l) => `${l.replace(/\r$/, '')}\n`).join('') };
      }
    }
    raw = [];
    hit = false;
  };
  for await (const batch of indexLineBatches(openIndexFile(file))) {
    for (const line of batch) {
      // A blank line (or one of only spaces and tabs) ends a paragraph (Policy §5.1).
      if (/^[ \t]*\r?$/.test(line)) {
        if (raw.length) paragraphEnds();
        continue;
      }
      raw.push(line);
      if (!hit && isPackageLine(line, name)) hit = true;
    }
  }
  if (raw.length) paragraphEnds();
  return best;
}

/** A package looked up across a distro's components. */
export interface LookupResult {
  /** The highest version over all components, or null. */
  found: FoundPackage | null;
  /** Whether this lookup fetched indexes (not only read the cache). */
  fetched: boolean;
}

/**
 * Look a package up in one distro's Packages indexes (one per component)
 * of a mirror. When `expectVersion` is given and the cached indexes lack
 * the package or hold another version, they are fetched once more and
 * searched again.
 * @throws Error when an index cannot be fetched (a worker fault), and as
 *   {@link findInIndex} when one cannot be read.
 */
export async function lookupPackage(
  q: { mirror: string; distro: string; components: string[]; arch: string; name: string; expectVersion?: string },
  opts: MirrorOptions,
): Promise<LookupResult> {
  const search = async (force: boolean) => {
    let found: FoundPackage | null = null;
    let fetched = 0;
    for (const component of q.components) {
      const idx = await cachedIndex({ mirror: q.mirror, distro: q.distro, component, arch: q.arch }, opts, force);
      if (idx.fetched) fetched++;
      const p = await findInIndex(idx.file, q.name);
      if (p && (!found || compareDebianVersions(p.version, found.version) > 0)) found = p;
    }
    return { found, fetched };
  };
  const first = await search(false);
  const expected = q.expectVersion === undefined || first.found?.version === q.expectVersion;
  // Indexes this very lookup fetched are as new as the mirror's: fetching them again would change nothing.
  if (expected || first.fetched === q.components.length) return { found: first.found, fetched: first.fetched > 0 };
  const again = await search(true);
  return { found: again.found, fetched: true };
}
