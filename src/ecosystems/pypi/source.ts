/**
 * Turning what PyPI says about a project into Kiln's SourcePackage, and the
 * HTTP helpers the PyPI source shares. The JSON API document is
 * `GET <json>/<name>/json` (https://docs.pypi.org/api/json/).
 */
import type { Json, SourcePackage, SourceVersion } from '../types.ts';
import { isPep440, normalizePypiName } from './names.ts';

/** piwheels cuts summaries to this many characters. */
export const MAX_SUMMARY_LENGTH = 200;

/** Skip reason for a version with no sdist yet. */
export const BINARY_ONLY = 'binary only';
/** Skip reason for a version whose string is not PEP 440 (pip refuses `pip wheel PKG==VER` for it). */
export const NOT_PEP440 = 'not a PEP 440 version';

/** An upstream HTTP failure; `status` 0 means the request never got an answer. */
export class UpstreamError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
  /** Worth trying again later: network failure, rate limiting or a server error. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
  /** The endpoint does not exist or refuses the method: the API is absent. */
  get absent(): boolean {
    return this.status === 404 || this.status === 405 || this.status === 501 || isRefused(this);
  }
}

function isRefused(err: UpstreamError): boolean {
  return err.status === 0 && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(err.message);
}

/** Message of an error, with fetch's `cause` (where the errno hides). */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${(err.cause as Error & { code?: string }).code ?? ''} ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/**
 * GET a URL and check the answer.
 * @returns the response with its body unread, or null on 404 or 410.
 * @throws UpstreamError on other HTTP statuses and network failures (status 0).
 */
export async function fetchOk(fetchImpl: typeof fetch, url: string, accept: string, signal: AbortSignal): Promise<Response | null> {
  let res: Response;
  try {
    res = await fetchImpl(url, { headers: { accept }, signal });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new UpstreamError(0, `GET ${url}: ${errorText(err)}`);
  }
  if (res.status === 404 || res.status === 410) {
    await res.body?.cancel();
    return null;
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new UpstreamError(res.status, `GET ${url}: HTTP ${res.status}`);
  }
  return res;
}

/**
 * GET a JSON document.
 * @returns the parsed body, or null on 404 or 410.
 * @throws UpstreamError on other HTTP statuses and network failures; Error on bad JSON.
 */
export async function getJson(fetchImpl: typeof fetch, url: string, accept: string, signal: AbortSignal): Promise<unknown> {
  const res = await fetchOk(fetchImpl, url, accept, signal);
  if (!res) return null;
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`GET ${url}: not JSON (${res.headers.get('content-type') ?? 'no content-type'})`);
  }
}

/** A URL base with exactly one trailing '/'. */
export function withSlash(url: string): string {
  return url.trim().replace(/\/+$/, '') + '/';
}

/** The meta Kiln keeps for a PyPI version (`SourceVersion.meta`), read by jobSpec and the repository. */
export interface PypiVersionMeta {
  /** The sdist the worker builds from, or null (binary only). */
  sdist_url: string | null;
  sdist_filename: string | null;
  /** sha256 of the sdist, hex, or null when upstream gave none. */
  sha256: string | null;
  /** Requires-Python of the sdist (else of any file), or null. */
  requires_python: string | null;
  /** Why upstream yanked the version, or null. */
  yanked_reason: string | null;
}

/** One upstream file, whichever API described it. */
export interface UpstreamFile {
  filename: string;
  kind: 'sdist' | 'binary';
  url: string;
  sha256: string | null;
  uploaded: Date | null;
  yanked: boolean;
  yankedReason: string | null;
  requiresPython: string | null;
}

/** Read the per-version meta from stored JSON (missing keys read as null). */
export function readPypiVersionMeta(meta: Json): PypiVersionMeta {
  const s = (k: string) => (typeof meta[k] === 'string' ? (meta[k] as string) : null);
  return {
    sdist_url: s('sdist_url'),
    sdist_filename: s('sdist_filename'),
    sha256: s('sha256'),
    requires_python: s('requires_python'),
    yanked_reason: s('yanked_reason'),
  };
}

function pickSdist(files: UpstreamFile[]): UpstreamFile | null {
  const sdists = files.filter((f) => f.kind === 'sdist');
  const rank = (f: UpstreamFile) => (f.yanked ? 2 : 0) + (f.filename.endsWith('.tar.gz') ? 0 : 1);
  return sdists.sort((a, b) => rank(a) - rank(b))[0] ?? null;
}

/**
 * One SourceVersion from a version's files (none → null: the version is
 * gone). Release time is the earliest upload (1970 when upstream gives no
 * times); yanked when every file is yanked.
 */
export function versionFromFiles(version: string, files: UpstreamFile[]): SourceVersion | null {
  if (files.length === 0) return null;
  const sdist = pickSdist(files);
  const times = files.map((f) => f.uploaded?.getTime()).filter((t): t is number => t !== undefined && !Number.isNaN(t));
  const yanked = files.every((f) => f.yanked);
  const meta: PypiVersionMeta = {
    sdist_url: sdist?.url ?? null,
    sdist_filename: sdist?.filename ?? null,
    sha256: sdist?.sha256 ?? null,
    requires_python: sdist?.requiresPython ?? files.find((f) => f.requiresPython)?.requiresPython ?? null,
    yanked_reason: yanked ? (files.find((f) => f.yankedReason)?.yankedReason ?? null) : null,
  };
  let skip: string | null = null;
  if (!isPep440(version)) skip = NOT_PEP440;
  else if (!sdist) skip = BINARY_ONLY;
  return {
    version,
    released: new Date(times.length ? Math.min(...times) : 0),
    skip,
    yanked,
    meta: meta as unknown as Json,
  };
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

function date(v: unknown): Date | null {
  if (typeof v !== 'string') return null;
  // The legacy `upload_time` field has no zone; it is UTC.
  const d = new Date(/Z|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Cut a summary to {@link MAX_SUMMARY_LENGTH} characters (null when empty). */
export function cutSummary(s: unknown): string | null {
  const t = typeof s === 'string' ? s.trim() : '';
  return t ? t.slice(0, MAX_SUMMARY_LENGTH) : null;
}

/** The JSON API project URL. */
export function jsonApiUrl(jsonBase: string, name: string): string {
  return `${withSlash(jsonBase)}${encodeURIComponent(normalizePypiName(name))}/json`;
}

/**
 * Convert a JSON API document (`<json>/<name>/json`) to a SourcePackage
 * listing every version with at least one file.
 * @throws Error when the document has no `info.name`.
 */
export function fromJsonApi(doc: unknown): SourcePackage {
  const d = (doc ?? {}) as { info?: Record<string, unknown>; releases?: Record<string, unknown> };
  const displayName = str(d.info?.name);
  if (!displayName) throw new Error('JSON API document without info.name');
  const versions: SourceVersion[] = [];
  for (const [version, raw] of Object.entries(d.releases ?? {})) {
    const files: UpstreamFile[] = (Array.isArray(raw) ? raw : []).flatMap((f: Record<string, unknown>) => {
      const filename = str(f?.filename);
      const url = str(f?.url);
      if (!filename || !url) return [];
      const digests = (f.digests ?? {}) as Record<string, unknown>;
      return [
        {
          filename,
          kind: f.packagetype === 'sdist' ? 'sdist' : 'binary',
          url,
          sha256: str(digests.sha256),
          uploaded: date(f.upload_time_iso_8601) ?? date(f.upload_time),
          yanked: f.yanked === true,
          yankedReason: str(f.yanked_reason),
          requiresPython: str(f.requires_python),
        } satisfies UpstreamFile,
      ];
    });
    const v = versionFromFiles(version, files);
    if (v) versions.push(v);
  }
  const info = d.info ?? {};
  return {
    name: normalizePypiName(displayName),
    displayName,
    summary: cutSummary(info.summary),
    meta: { project_url: str(info.project_url) ?? str(info.package_url) },
    versions,
  };
}
