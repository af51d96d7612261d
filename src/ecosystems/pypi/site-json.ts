/**
 * piwheels-compatible project files for the site, outside `pypi/`:
 *
 * - `project/<normalised>/json/index.json`: the project JSON piwheels
 *   serves at `/project/<pkg>/json/`:
 *   `{package, summary, pypi_url, piwheels_url, releases: {<version>:
 *   {released, prerelease, yanked, skip_reason, files: {<wheel>: {filehash,
 *   filesize, builder_abi, file_abi_tag, platform, requires_python,
 *   apt_dependencies, pip_dependencies, file_url}}}}}`. `released` is
 *   `YYYY-MM-DD HH:MM:SS` (UTC), `skip_reason` is `''` when the release is
 *   built, as piwheels writes them. `piwheels_url` is this project's page
 *   on Kiln (`project/<normalised>/`).
 * - `project/<normalised>/index.html`: a redirect to Kiln's package page
 *   (`packages/pypi/<normalised>/`), so piwheels-style links work.
 */
import { explain } from '@renovatebot/pep440';
import type { Json, PublishedArtifact, RepositoryFiles, RepositoryInput } from '../types.ts';
import { normalizePypiName } from './names.ts';
import { choose, escapeHtml, FILES_ROOT } from './repository.ts';

/** Output-relative root of the piwheels-style project folders. */
export const PROJECT_ROOT = 'project';

/** One file of a release in the project JSON. */
export interface ProjectJsonFile {
  filehash: string;
  filesize: number;
  builder_abi: string;
  file_abi_tag: string;
  platform: string;
  requires_python: string | null;
  apt_dependencies: string[];
  pip_dependencies: string[];
  file_url: string;
}

/** The project JSON document. */
export interface ProjectJson {
  package: string;
  summary: string | null;
  pypi_url: string;
  piwheels_url: string;
  releases: Record<string, { released: string | null; prerelease: boolean; yanked: boolean; skip_reason: string; files: Record<string, ProjectJsonFile> }>;
}

/** Output-relative folder of a project (`project/<normalised>/`). */
export function projectSiteDir(name: string): string {
  return `${PROJECT_ROOT}/${normalizePypiName(name)}/`;
}

/**
 * The upstream project page for a JSON API root: `https://pypi.org/pypi/` →
 * `https://pypi.org/project/<name>/`; any other index the same way, on its origin.
 */
export function upstreamProjectUrl(jsonApiRoot: string, name: string): string {
  let origin = 'https://pypi.org';
  try {
    const u = new URL(jsonApiRoot);
    const prefix = u.pathname.replace(/\/+$/, '').replace(/\/pypi$/, '');
    origin = `${u.origin}${prefix}`;
  } catch {
    // Not a URL: link to PyPI.
  }
  return `${origin}/project/${encodeURIComponent(normalizePypiName(name))}/`;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function depsOf(a: PublishedArtifact, kind: string): string[] {
  const d = a.tags.dependencies;
  if (!d || typeof d !== 'object') return [];
  return [...new Set(strings((d as Json)[kind]))].sort();
}

function tag(a: PublishedArtifact, key: string, fallback: string): string {
  const v = a.tags[key];
  return typeof v === 'string' && v ? v : fallback;
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, as piwheels writes release times. */
function piwheelsTime(d: Date | undefined): string | null {
  return d && !Number.isNaN(d.getTime()) ? d.toISOString().replace('T', ' ').slice(0, 19) : null;
}

/** The project JSON for one package; `pypiUrl` is its upstream page. */
export function projectJson(input: RepositoryInput, pypiUrl: string): ProjectJson {
  const base = input.baseUrl.replace(/\/+$/, '');
  const name = normalizePypiName(input.packageName || input.displayName);
  const byVersion = new Map<string, Record<string, ProjectJsonFile>>();
  for (const c of choose(input)) {
    const a = c.wheel;
    const files = byVersion.get(a.version) ?? {};
    files[a.filename] = {
      filehash: a.sha256,
      filesize: a.size,
      builder_abi: a.target.split('-')[0] ?? a.target,
      file_abi_tag: tag(a, 'abi_tag', a.filename.split('-').at(-2) ?? ''),
      platform: tag(a, 'platform_tag', a.filename.replace(/\.whl$/, '').split('-').at(-1) ?? ''),
      requires_python: c.file.requiresPython,
      apt_dependencies: depsOf(a, 'apt'),
      pip_dependencies: depsOf(a, 'pip'),
      file_url: `${base}/${FILES_ROOT}/${encodeURIComponent(a.filename)}`,
    };
    byVersion.set(a.version, files);
  }
  const releases: ProjectJson['releases'] = {};
  for (const v of input.versions) {
    releases[v.version] = {
      released: piwheelsTime(v.released),
      prerelease: explain(v.version)?.is_prerelease ?? false,
      yanked: v.yanked,
      skip_reason: v.skip ?? '',
      files: byVersion.get(v.version) ?? {},
    };
  }
  return {
    package: name,
    summary: input.summary ?? null,
    pypi_url: pypiUrl,
    piwheels_url: `${base}/${projectSiteDir(name)}`,
    releases,
  };
}

/** A tiny page that sends piwheels-style `project/<name>/` visitors to Kiln's package page. */
export function projectRedirectHtml(displayName: string, normalised: string): string {
  const target = `../../packages/pypi/${encodeURIComponent(normalised)}/index.html`;
  const t = escapeHtml(target);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeHtml(displayName)} · Kiln</title>`,
    `<meta http-equiv="refresh" content="0; url=${t}">`,
    `<link rel="canonical" href="${t}">`,
    '</head>',
    `<body><p>This project's page is <a href="${t}">here</a>; its JSON is at <a href="json/index.json">json/index.json</a>.</p></body>`,
    '</html>',
    '',
  ].join('\n');
}

/** The piwheels-style site files of one project. */
export function siteFiles(input: RepositoryInput, pypiUrl: string): RepositoryFiles {
  const name = normalizePypiName(input.packageName || input.displayName);
  const dir = projectSiteDir(name);
  return new Map([
    [`${dir}index.html`, { content: projectRedirectHtml(input.displayName, name) }],
    [`${dir}json/index.json`, { content: `${JSON.stringify(projectJson(input, pypiUrl), null, 1)}\n` }],
  ]);
}

/**
 * A request for piwheels' project JSON address, `project/<name>/json/` (or
 * without the slash), gets `index.json`: a static server needs
 * `DirectoryIndex index.json` for that, as piwheels' Apache has; Kiln's own
 * server asks the ecosystem through `negotiate`.
 */
export function negotiateProjectJson(path: string): { path: string; contentType: string } | undefined {
  const rel = path.replace(/^\/+/, '').split('?')[0]!;
  const m = /^project\/([^/]+)\/json\/?$/.exec(rel);
  return m ? { path: `${PROJECT_ROOT}/${m[1]}/json/index.json`, contentType: 'application/json; charset=utf-8' } : undefined;
}
