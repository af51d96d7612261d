/**
 * Getting a version's source onto the worker: download the registry
 * tarball, check it against the packument's integrity, unpack it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ssri from 'ssri';
import * as tar from 'tar';

/** A problem with the package's tarball itself, reported as a failed build. */
export class TarballError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarballError';
  }
}

/**
 * Download `url` into `dest` and verify it against the SRI string `integrity`
 * (sha512, or sha1 for old publishes; https://w3c.github.io/webappsec-subresource-integrity/).
 * @throws TarballError on HTTP errors and integrity mismatches.
 * @throws Error (a worker fault) on network failures.
 */
export async function downloadVerified(url: string, integrity: string, dest: string, signal: AbortSignal): Promise<number> {
  const res = await fetch(url, { signal });
  if (!res.ok) {
    await res.body?.cancel();
    throw new TarballError(`downloading ${url} failed: HTTP ${res.status}`);
  }
  const data = Buffer.from(await res.arrayBuffer());
  if (!ssri.checkData(data, integrity)) {
    const got = ssri.fromData(data, { algorithms: [ssri.parse(integrity).pickAlgorithm() as string] }).toString();
    throw new TarballError(`tarball integrity mismatch for ${url}: expected ${integrity}, got ${got}`);
  }
  await mkdir(path.dirname(dest), { recursive: true });
  await writeFile(dest, data);
  return data.length;
}

/**
 * Unpack an npm tarball into `dir`, dropping its top directory (normally
 * `package/`). Ownership and modes from the archive are not kept.
 * @throws TarballError when the archive is corrupt or empty.
 */
export async function unpackTarball(file: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  let entries = 0;
  try {
    await tar.extract({
      file,
      cwd: dir,
      strip: 1,
      preserveOwner: false,
      onReadEntry: () => {
        entries++;
      },
    });
  } catch (err) {
    throw new TarballError(`cannot unpack ${path.basename(file)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (entries === 0) throw new TarballError(`${path.basename(file)} is empty`);
}
