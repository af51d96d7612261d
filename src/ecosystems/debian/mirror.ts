/**
 * Fetching a Debian archive's index files (Packages, Sources) from a
 * mirror, over http(s) or from a `file://` tree, in the layout of
 * <https://wiki.debian.org/DebianRepository/Format>:
 * `dists/<suite>/<component>/binary-<arch>/Packages[.xz|.gz]` and
 * `dists/<suite>/<component>/source/Sources[.xz|.gz]`.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

/** Compressions tried, best first, as apt does. */
const EXTENSIONS = ['.xz', '.gz', ''] as const;

/** An index file could not be had from the mirror in any compression. */
export class MirrorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MirrorError';
  }
}

/** Where an index file was found. */
export interface FetchedIndex {
  /** A local file holding it (compressed as its name says). */
  path: string;
  /** The URL it came from. */
  url: string;
  /** Whether it changed since the last fetch into the same cache file. */
  changed: boolean;
  /** Its modification time upstream (Last-Modified, or the file's mtime). */
  modified: Date | null;
}

/** Path of a Packages index relative to the mirror root, without compression suffix. */
export function packagesPath(suite: string, component: string, arch: string): string {
  return `dists/${suite}/${component}/binary-${arch}/Packages`;
}

/** Path of a Sources index relative to the mirror root, without compression suffix. */
export function sourcesPath(suite: string, component: string): string {
  return `dists/${suite}/${component}/source/Sources`;
}

/**
 * Get one index file, trying `.xz`, `.gz`, then uncompressed. A `file://`
 * mirror is read in place. Over http the file is downloaded to
 * `cacheBase + ext` (written under a temporary name, renamed when complete),
 * with If-Modified-Since so an unchanged index is not downloaded again.
 * @param mirror archive root (`http://deb.debian.org/debian`, `file:///srv/mirror`), no trailing slash.
 * @param rel path under the root without compression suffix (see {@link packagesPath}).
 * @param cacheBase local path prefix for downloads (http only).
 * @throws MirrorError when no compression of the file exists or the mirror answers with an error.
 */
export async function fetchIndex(mirror: string, rel: string, cacheBase: string, signal?: AbortSignal): Promise<FetchedIndex> {
  const tried: string[] = [];
  if (mirror.startsWith('file://')) {
    const root = fileURLToPath(mirror);
    for (const ext of EXTENSIONS) {
      const path = `${root}/${rel}${ext}`;
      const st = await stat(path).catch(() => null);
      if (st?.isFile()) return { path, url: `${mirror}/${rel}${ext}`, changed: true, modified: st.mtime };
      tried.push(path);
    }
    throw new MirrorError(`no ${rel} in the mirror ${mirror} (looked for ${tried.join(', ')})`);
  }
  for (const ext of EXTENSIONS) {
    const url = `${mirror}/${rel}${ext}`;
    const dest = cacheBase + ext;
    const have = await stat(dest).catch(() => null);
    const headers: Record<string, string> = {};
    if (have) headers['if-modified-since'] = have.mtime.toUTCString();
    let res: Response;
    try {
      res = await fetch(url, { headers, signal });
    } catch (err) {
      throw new MirrorError(`cannot reach ${url}: ${(err as Error).message}`);
    }
    const modified = res.headers.get('last-modified');
    if (res.status === 304 && have) return { path: dest, url, changed: false, modified: have.mtime };
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      tried.push(`${url} (${res.status})`);
      continue;
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new MirrorError(`${url}: HTTP ${res.status} ${res.statusText}`);
    }
    await mkdir(dirname(dest), { recursive: true });
    // Unique per writer: two worker processes may refresh the same cache at once.
    const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
    try {
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(tmp));
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new MirrorError(`downloading ${url} failed: ${(err as Error).message}`);
    }
    const when = modified ? new Date(modified) : new Date();
    // Keep the server's date on the file, so the next If-Modified-Since asks about the right time.
    await utimes(dest, when, when);
    return { path: dest, url, changed: true, modified: when };
  }
  throw new MirrorError(`no ${rel} on the mirror ${mirror} (tried ${tried.join(', ')})`);
}
