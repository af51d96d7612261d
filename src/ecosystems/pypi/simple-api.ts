/**
 * Reading a simple repository API (PEP 503 HTML, PEP 691 JSON, PEP 700
 * upload times), for indexes without XML-RPC and JSON APIs. Pages are
 * asked for as PEP 691 JSON first; an HTML answer is read as PEP 503.
 */
import type { SourcePackage, SourceVersion } from '../types.ts';
import { normalizePypiName } from './names.ts';
import { cutSummary, fetchOk, UpstreamError, versionFromFiles, withSlash, type UpstreamFile } from './source.ts';
import { parseWheelFilename } from './wheel-name.ts';

/** PEP 691 JSON media type (version 1). */
export const SIMPLE_JSON = 'application/vnd.pypi.simple.v1+json';
const ACCEPT = `${SIMPLE_JSON}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1`;

/** One project in an index listing. */
export interface SimpleProject {
  name: string;
  /** PyPI's `_last-serial` for the project, when the index gives it. */
  lastSerial: number | null;
}

/** One `<a>` of a PEP 503 page. */
interface Anchor {
  href: string;
  text: string;
  attrs: Record<string, string>;
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos|#39);/gi, (_m, e: string) => {
    const l = e.toLowerCase();
    if (l === 'lt') return '<';
    if (l === 'gt') return '>';
    if (l === 'amp') return '&';
    if (l === 'quot') return '"';
    if (l === 'apos') return "'";
    const code = l.startsWith('#x') ? parseInt(l.slice(2), 16) : parseInt(l.slice(1), 10);
    return String.fromCodePoint(code);
  });
}

/** The anchors of a PEP 503 HTML page (a minimal reader: attributes in double or single quotes, or bare). */
export function parseAnchors(html: string): Anchor[] {
  const out: Anchor[] = [];
  for (const m of html.matchAll(/<a\s([^>]*)>([\s\S]*?)<\/a\s*>/gi)) {
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
      attrs[a[1]!.toLowerCase()] = decodeEntities(a[2] ?? a[3] ?? a[4] ?? '');
    }
    if (attrs.href !== undefined) out.push({ href: attrs.href, text: decodeEntities(m[2]!.replace(/<[^>]*>/g, '').trim()), attrs });
  }
  return out;
}

type Page = { kind: 'json'; body: Record<string, unknown> } | { kind: 'html'; body: string } | null;

async function getPage(fetchImpl: typeof fetch, url: string, signal: AbortSignal): Promise<Page> {
  const res = await fetchOk(fetchImpl, url, ACCEPT, signal);
  if (!res) return null;
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  if (/json/i.test(type)) {
    try {
      return { kind: 'json', body: JSON.parse(text) as Record<string, unknown> };
    } catch {
      throw new Error(`GET ${url}: bad JSON`);
    }
  }
  return { kind: 'html', body: text };
}

/**
 * List the projects of an index (`<simple>/`).
 * @throws UpstreamError on HTTP failures (404 included: an index must have a root).
 */
export async function fetchSimpleIndex(fetchImpl: typeof fetch, simpleBase: string, signal: AbortSignal): Promise<SimpleProject[]> {
  const url = withSlash(simpleBase);
  const page = await getPage(fetchImpl, url, signal);
  if (!page) throw new UpstreamError(404, `GET ${url}: HTTP 404`);
  if (page.kind === 'html') return parseAnchors(page.body).map((a) => ({ name: a.text, lastSerial: null }));
  const projects = Array.isArray(page.body.projects) ? (page.body.projects as Array<Record<string, unknown>>) : [];
  return projects
    .filter((p) => typeof p?.name === 'string')
    .map((p) => ({ name: p.name as string, lastSerial: typeof p['_last-serial'] === 'number' ? (p['_last-serial'] as number) : null }));
}

const SDIST_EXT = /\.(tar\.gz|tgz|zip|tar\.bz2|tar\.xz|tar)$/i;

/** The version of a file of a project, from its filename, or null when the name does not say. */
export function versionOfFile(project: string, filename: string): { version: string; kind: 'sdist' | 'binary' } | null {
  const w = parseWheelFilename(filename);
  if (w) return normalizePypiName(w.dist) === normalizePypiName(project) ? { version: w.version, kind: 'binary' } : null;
  const ext = SDIST_EXT.exec(filename);
  if (ext) {
    const stem = filename.slice(0, -ext[0].length);
    const want = normalizePypiName(project);
    // Older sdists spell the name freely and names contain '-': try every split.
    for (let i = stem.indexOf('-'); i > 0; i = stem.indexOf('-', i + 1)) {
      if (normalizePypiName(stem.slice(0, i)) === want) return { version: stem.slice(i + 1), kind: 'sdist' };
    }
    return null;
  }
  const egg = /^(.+?)-([^-]+)-py\d/.exec(filename);
  if (egg && normalizePypiName(egg[1]!) === normalizePypiName(project)) return { version: egg[2]!, kind: 'binary' };
  return null;
}

function fileFromJson(f: Record<string, unknown>, pageUrl: string): UpstreamFile | null {
  if (typeof f.filename !== 'string' || typeof f.url !== 'string') return null;
  const hashes = (f.hashes ?? {}) as Record<string, unknown>;
  const up = typeof f['upload-time'] === 'string' ? new Date(f['upload-time']) : null;
  return {
    filename: f.filename,
    kind: 'binary',
    url: new URL(f.url, pageUrl).href,
    sha256: typeof hashes.sha256 === 'string' ? hashes.sha256 : null,
    uploaded: up && !Number.isNaN(up.getTime()) ? up : null,
    yanked: f.yanked === true || (typeof f.yanked === 'string' && f.yanked !== '') || f.yanked === '',
    yankedReason: typeof f.yanked === 'string' && f.yanked ? f.yanked : null,
    requiresPython: typeof f['requires-python'] === 'string' && f['requires-python'] ? f['requires-python'] : null,
  };
}

function fileFromAnchor(a: Anchor, pageUrl: string): UpstreamFile {
  const url = new URL(a.href, pageUrl);
  const sha = /^#sha256=([0-9a-f]{64})$/i.exec(url.hash)?.[1] ?? null;
  url.hash = '';
  const yanked = a.attrs['data-yanked'];
  return {
    filename: a.text || decodeURIComponent(url.pathname.split('/').pop() ?? ''),
    kind: 'binary',
    url: url.href,
    sha256: sha ? sha.toLowerCase() : null,
    uploaded: null,
    yanked: yanked !== undefined,
    yankedReason: yanked ? yanked : null,
    requiresPython: a.attrs['data-requires-python'] || null,
  };
}

/**
 * Fetch one project page (`<simple>/<normalised>/`) as a SourcePackage.
 * Release times come from PEP 700 `upload-time` (1970 when absent); the
 * summary is unknown to this API (null). The display name is `name` as
 * given (pass the listing's spelling), unless the page names the project
 * in another form than the normalised one.
 * @returns null when the index has no such project.
 * @throws UpstreamError on HTTP failures.
 */
export async function fetchSimpleProject(
  fetchImpl: typeof fetch,
  simpleBase: string,
  name: string,
  signal: AbortSignal,
): Promise<SourcePackage | null> {
  const norm = normalizePypiName(name);
  const url = `${withSlash(simpleBase)}${encodeURIComponent(norm)}/`;
  const page = await getPage(fetchImpl, url, signal);
  if (!page) return null;
  let displayName = name;
  let files: UpstreamFile[];
  if (page.kind === 'json') {
    // PyPI's project pages name the project normalised: a spelling the caller has (from the listing) is better.
    const pageName = page.body.name;
    if (typeof pageName === 'string' && (name === norm || pageName !== norm)) displayName = pageName;
    const raw = Array.isArray(page.body.files) ? (page.body.files as Array<Record<string, unknown>>) : [];
    files = raw.map((f) => fileFromJson(f ?? {}, url)).filter((f): f is UpstreamFile => f !== null);
  } else {
    files = parseAnchors(page.body).map((a) => fileFromAnchor(a, url));
  }
  const byVersion = new Map<string, UpstreamFile[]>();
  for (const f of files) {
    const v = versionOfFile(norm, f.filename);
    if (!v) continue;
    f.kind = v.kind;
    const list = byVersion.get(v.version) ?? [];
    list.push(f);
    byVersion.set(v.version, list);
  }
  const versions = [...byVersion].map(([v, fs]) => versionFromFiles(v, fs)).filter((v): v is SourceVersion => v !== null);
  return { name: norm, displayName, summary: cutSummary(null), meta: { project_url: null }, versions };
}
