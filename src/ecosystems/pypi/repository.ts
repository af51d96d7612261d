/**
 * The PyPI repository Kiln publishes under `pypi/`:
 *
 * - `pypi/simple/<normalised>/index.html`: the PEP 503 project page, with
 *   `#sha256=` fragments, `data-requires-python` (PEP 503), `data-yanked`
 *   (PEP 592) and `data-dist-info-metadata` / `data-core-metadata`
 *   (PEP 658, PEP 714) when the wheel's METADATA is published.
 * - `pypi/simple/<normalised>/index.json`: the same page as PEP 691 JSON
 *   (api-version 1.1, with PEP 700 `versions` and `size`). A static web
 *   server cannot choose it by `Accept`, so pip gets the HTML there; a
 *   server that negotiates content (Kiln's own can) serves this file for
 *   `Accept: application/vnd.pypi.simple.v1+json`.
 * - `pypi/files/<wheel>` and `pypi/files/<wheel>.metadata` (PEP 658).
 *
 * The root `pypi/simple/index.html` (and `index.json`) lists every project,
 * so it is written by {@link indexFiles} over all packages, which the core
 * calls through `MasterEcosystem.indexFiles`. {@link negotiate} picks the
 * JSON form for clients that ask for it by `Accept`.
 */
import type { IndexedPackage, Json, PublishedArtifact, RepositoryFiles, RepositoryInput } from '../types.ts';
import { normalizePypiName } from './names.ts';
import { readPypiVersionMeta } from './source.ts';
import { METADATA_SUFFIX, parseWheelFilename } from './wheel-name.ts';

/** Output-relative root of the simple index. */
export const SIMPLE_ROOT = 'pypi/simple';
/** Output-relative directory of the wheel files. */
export const FILES_ROOT = 'pypi/files';
/** PEP 691 JSON media type (version 1). */
export const SIMPLE_JSON_TYPE = 'application/vnd.pypi.simple.v1+json';
const API_VERSION = '1.1';

type RepositoryVersion = RepositoryInput['versions'][number];

/** One file of a project page, as both the HTML and the JSON form describe it. */
export interface SimpleFile {
  filename: string;
  /** Relative to the project page. */
  url: string;
  sha256: string;
  size: number;
  requiresPython: string | null;
  /** false, or the reason ('' when none was given). */
  yanked: false | string;
  /** sha256 of the PEP 658 `.metadata` file, or null when there is none. */
  metadataSha256: string | null;
  version: string;
}

/** Escape text for HTML content and double-quoted attributes. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** The output-relative directory of a project page. */
export function projectDir(name: string): string {
  return `${SIMPLE_ROOT}/${normalizePypiName(name)}`;
}

function requiresPythonOf(a: PublishedArtifact, v: RepositoryVersion | undefined): string | null {
  for (const key of ['requires_python', 'requiresPython']) {
    const t = a.tags[key];
    if (typeof t === 'string' && t.trim()) return t.trim();
  }
  return v ? readPypiVersionMeta(v.meta).requires_python : null;
}

/** A wheel chosen for publishing, with its `.metadata` file when there is one. */
export interface Chosen {
  file: SimpleFile;
  wheel: PublishedArtifact;
  metadata: PublishedArtifact | undefined;
}

/** Each published wheel once (first by target name wins), sorted by filename. */
export function choose(input: RepositoryInput): Chosen[] {
  const versions = new Map((input.versions ?? []).map((v) => [v.version, v]));
  const sorted = [...input.artifacts].sort((x, y) => x.filename.localeCompare(y.filename) || x.target.localeCompare(y.target));
  const metadata = new Map<string, PublishedArtifact>();
  for (const a of sorted) if (a.filename.endsWith(METADATA_SUFFIX)) metadata.set(`${a.target}\0${a.filename}`, a);
  const out: Chosen[] = [];
  const seen = new Set<string>();
  for (const a of sorted) {
    if (!parseWheelFilename(a.filename) || seen.has(a.filename)) continue;
    seen.add(a.filename);
    const v = versions.get(a.version);
    const md = metadata.get(`${a.target}\0${a.filename}${METADATA_SUFFIX}`);
    const yanked = v?.yanked ? (readPypiVersionMeta(v.meta).yanked_reason ?? '') : false;
    out.push({
      wheel: a,
      metadata: md,
      file: {
        filename: a.filename,
        url: `../../files/${encodeURIComponent(a.filename)}`,
        sha256: a.sha256,
        size: a.size,
        requiresPython: requiresPythonOf(a, v),
        yanked,
        metadataSha256: md?.sha256 ?? null,
        version: a.version,
      },
    });
  }
  return out;
}

/**
 * The files of one project page: each published wheel once (when two
 * builds made the same filename, the first by target name wins, with its
 * own `.metadata`), sorted by filename.
 */
export function simpleFiles(input: RepositoryInput): SimpleFile[] {
  return choose(input).map((c) => c.file);
}

/** The PEP 503 HTML project page. */
export function projectIndexHtml(displayName: string, files: SimpleFile[]): string {
  const name = escapeHtml(displayName);
  const links = files.map((f) => {
    const attrs = [`href="${escapeHtml(`${f.url}#sha256=${f.sha256}`)}"`];
    if (f.requiresPython) attrs.push(`data-requires-python="${escapeHtml(f.requiresPython)}"`);
    if (f.yanked !== false) attrs.push(`data-yanked="${escapeHtml(f.yanked)}"`);
    if (f.metadataSha256) {
      const m = escapeHtml(`sha256=${f.metadataSha256}`);
      attrs.push(`data-dist-info-metadata="${m}"`, `data-core-metadata="${m}"`);
    }
    return `    <a ${attrs.join(' ')}>${escapeHtml(f.filename)}</a><br>`;
  });
  return [
    '<!DOCTYPE html>',
    '<html>',
    '  <head>',
    `    <meta name="pypi:repository-version" content="${API_VERSION}">`,
    `    <title>Links for ${name}</title>`,
    '  </head>',
    '  <body>',
    `    <h1>Links for ${name}</h1>`,
    ...links,
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}

/** The PEP 691 JSON project page (api-version 1.1). */
export function projectIndexJson(displayName: string, files: SimpleFile[]): Json {
  const versions = [...new Set(files.map((f) => f.version))];
  return {
    meta: { 'api-version': API_VERSION },
    name: normalizePypiName(displayName),
    versions,
    files: files.map((f) => {
      const md = f.metadataSha256 ? { sha256: f.metadataSha256 } : false;
      const entry: Json = {
        filename: f.filename,
        url: f.url,
        hashes: { sha256: f.sha256 },
        size: f.size,
        yanked: f.yanked === false ? false : f.yanked || true,
        'core-metadata': md,
        'dist-info-metadata': md,
      };
      if (f.requiresPython) entry['requires-python'] = f.requiresPython;
      return entry;
    }),
  };
}

/**
 * The repository files for one project: its two simple pages, and links to
 * its wheels and their `.metadata` files. A project with no wheels still
 * gets (empty) pages, so pip gets "no matching distribution" instead of a 404.
 */
export function repositoryFiles(input: RepositoryInput): RepositoryFiles {
  const files: RepositoryFiles = new Map();
  const chosen = choose(input);
  for (const c of chosen) {
    files.set(`${FILES_ROOT}/${c.wheel.filename}`, { linkFrom: c.wheel.storePath });
    if (c.metadata) files.set(`${FILES_ROOT}/${c.metadata.filename}`, { linkFrom: c.metadata.storePath });
  }
  const list = chosen.map((c) => c.file);
  const dir = projectDir(input.packageName || input.displayName);
  files.set(`${dir}/index.html`, { content: projectIndexHtml(input.displayName, list) });
  files.set(`${dir}/index.json`, { content: JSON.stringify(projectIndexJson(input.displayName, list), null, 2) + '\n' });
  return files;
}

/** One project of the root index. */
export interface RootProject {
  /** Display name. */
  name: string;
  /** PEP 503 normalised name (the directory). */
  normalised: string;
}

/** The PEP 503 root page `pypi/simple/index.html`, listing every project (written by the core across packages). */
export function rootIndexHtml(projects: RootProject[]): string {
  const sorted = [...projects].sort((a, b) => a.normalised.localeCompare(b.normalised));
  return [
    '<!DOCTYPE html>',
    '<html>',
    '  <head>',
    `    <meta name="pypi:repository-version" content="${API_VERSION}">`,
    '    <title>Simple index</title>',
    '  </head>',
    '  <body>',
    ...sorted.map((p) => `    <a href="${escapeHtml(encodeURIComponent(p.normalised))}/">${escapeHtml(p.name)}</a><br>`),
    '  </body>',
    '</html>',
    '',
  ].join('\n');
}

/** The PEP 691 JSON root page (`pypi/simple/index.json`). */
export function rootIndexJson(projects: RootProject[]): Json {
  const sorted = [...projects].sort((a, b) => a.normalised.localeCompare(b.normalised));
  return { meta: { 'api-version': API_VERSION }, projects: sorted.map((p) => ({ name: p.name })) };
}

/** The root index files over every package with something published. */
export function indexFiles(packages: IndexedPackage[]): RepositoryFiles {
  const projects = packages.filter((p) => p.published).map((p) => ({ name: p.displayName, normalised: normalizePypiName(p.name) }));
  return new Map([
    [`${SIMPLE_ROOT}/index.html`, { content: rootIndexHtml(projects) }],
    [`${SIMPLE_ROOT}/index.json`, { content: JSON.stringify(rootIndexJson(projects), null, 2) + '\n' }],
  ]);
}

/** The q-value an Accept header gives a media type (exact match, then `type/*`, then `*\/*`); 0 when absent. */
export function acceptQuality(accept: string, type: string): number {
  let best = -1;
  let bestSpecificity = -1;
  for (const part of accept.split(',')) {
    const [range, ...params] = part.trim().split(';').map((x) => x.trim());
    if (!range) continue;
    const r = range.toLowerCase();
    const specificity = r === type ? 2 : r === `${type.split('/')[0]}/*` ? 1 : r === '*/*' ? 0 : -1;
    if (specificity < 0 || specificity < bestSpecificity) continue;
    const q = params.find((p) => p.toLowerCase().startsWith('q='));
    const value = q ? Number(q.slice(2)) : 1;
    bestSpecificity = specificity;
    best = Number.isFinite(value) ? value : 0;
  }
  return Math.max(best, 0);
}

/**
 * PEP 691 content negotiation for the simple index: a request for
 * `pypi/simple/` or `pypi/simple/<project>/` (or their `index.html`) whose
 * Accept prefers `application/vnd.pypi.simple.v1+json` (or `.latest+json`)
 * to HTML gets the `index.json` beside it.
 */
export function negotiate(path: string, accept: string): { path: string; contentType: string } | undefined {
  const rel = path.replace(/^\/+/, '').split('?')[0]!;
  const m = /^pypi\/simple\/(?:([^/]+)\/)?(?:index\.html)?$/.exec(rel);
  if (!m) return undefined;
  const json = Math.max(acceptQuality(accept, SIMPLE_JSON_TYPE), acceptQuality(accept, 'application/vnd.pypi.simple.latest+json'));
  const html = Math.max(
    acceptQuality(accept, 'application/vnd.pypi.simple.v1+html'),
    acceptQuality(accept, 'application/vnd.pypi.simple.latest+html'),
    acceptQuality(accept, 'text/html'),
  );
  // Ties (e.g. `*/*`) go to HTML unless the client named the JSON type.
  const named = /application\/vnd\.pypi\.simple\.(v1|latest)\+json/i.test(accept);
  if (json <= 0 || json < html || (json === html && !named)) return undefined;
  return { path: m[1] ? `${SIMPLE_ROOT}/${m[1]}/index.json` : `${SIMPLE_ROOT}/index.json`, contentType: SIMPLE_JSON_TYPE };
}
