/**
 * Talking to an npm registry: where it is, packuments, and a peek inside
 * tarballs. Registry API:
 * https://github.com/npm/registry/blob/main/docs/REGISTRY-API.md
 */
import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as tar from 'tar';
import type { NpmPackument } from './manifest.ts';

const execFileP = promisify(execFile);

/** The public registry, used when npm cannot be asked. */
export const PUBLIC_REGISTRY = 'https://registry.npmjs.org/';

/** A registry URL with exactly one trailing '/'. */
export function normalizeRegistry(url: string): string {
  return url.trim().replace(/\/+$/, '') + '/';
}

/**
 * The registry npm itself is configured with (`npm config get registry`),
 * or {@link PUBLIC_REGISTRY} when npm is missing or answers oddly. Never throws.
 */
export async function defaultNpmRegistry(): Promise<string> {
  try {
    const { stdout } = await execFileP('npm', ['config', 'get', 'registry'], { timeout: 20_000 });
    const url = stdout.trim().split('\n').pop()?.trim() ?? '';
    if (/^https?:\/\//.test(url)) return normalizeRegistry(url);
  } catch {
    // fall through to the public registry
  }
  return PUBLIC_REGISTRY;
}

/** The packument URL for a name: scoped names keep '@' and encode '/' as `%2f`, as npm does. */
export function packumentUrl(registry: string, name: string): string {
  const path = name.startsWith('@') ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name);
  return normalizeRegistry(registry) + path.replace(/%2F/g, '%2f');
}

/**
 * GET the full packument (`Accept: application/json`; the abbreviated form
 * lacks `time`, `deprecated` details and `binary`).
 * @returns the document, or null on 404.
 * @throws Error on other HTTP statuses, network errors or bad JSON.
 */
export async function fetchPackument(
  fetchImpl: typeof fetch,
  registry: string,
  name: string,
  signal: AbortSignal,
): Promise<NpmPackument | null> {
  const url = packumentUrl(registry, name);
  const res = await fetchImpl(url, { headers: { accept: 'application/json' }, signal });
  if (res.status === 404) {
    await res.body?.cancel();
    return null;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`GET ${url}: HTTP ${res.status}`);
  }
  const doc = (await res.json()) as NpmPackument;
  if (!doc || typeof doc !== 'object') throw new Error(`GET ${url}: not a JSON object`);
  return doc;
}

/**
 * Whether a package tarball has a top-level `package/binding.gyp`, which
 * makes npm run `node-gyp rebuild` even with no install script. Streams the
 * tarball through tar's parser without writing anything.
 * @throws Error on HTTP errors or a corrupt tarball.
 */
export async function tarballHasBindingGyp(fetchImpl: typeof fetch, url: string, signal: AbortSignal): Promise<boolean> {
  const res = await fetchImpl(url, { signal });
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(`GET ${url}: HTTP ${res.status}`);
  }
  let found = false;
  // npm packs everything under one top directory, normally "package/", but some old tarballs use another name.
  const parser = new tar.Parser({
    onReadEntry: (entry) => {
      if (/^[^/]+\/binding\.gyp$/.test(entry.path)) found = true;
      entry.resume();
    },
  });
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), parser);
  return found;
}
