/**
 * "How to install from Kiln" for a PyPI project page: pip command lines
 * and a pip.conf snippet, pointing at Kiln's simple index, plus the links
 * piwheels' project pages carry (the upstream project page and the
 * piwheels-style project JSON).
 */
import type { RepositoryInput, UsageBlock } from '../types.ts';
import { SIMPLE_ROOT } from './repository.ts';
import { projectSiteDir } from './site-json.ts';
import { parseWheelFilename } from './wheel-name.ts';

/** Kiln's simple index URL for a base URL, with a trailing '/'. */
export function simpleIndexUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${SIMPLE_ROOT}/`;
}

/**
 * The usage blocks for one project: `--extra-index-url` first (Kiln beside
 * PyPI, as piwheels is used), then `--index-url` alone, then pip.conf. The
 * first block carries the page's links: the upstream page (the JSON API's
 * `info.project_url`, kept as `packageMeta.project_url`) when the source
 * gave one, and the project JSON at `project/<name>/json/index.json`.
 */
export function usage(input: RepositoryInput): UsageBlock[] {
  const index = simpleIndexUrl(input.baseUrl);
  const name = input.displayName;
  const upstream = input.packageMeta.project_url;
  const links = [
    ...(typeof upstream === 'string' && /^https?:\/\//.test(upstream) ? [{ label: 'upstream project page', href: upstream }] : []),
    { label: 'project JSON', href: `${projectSiteDir(input.packageName || name)}json/index.json` },
  ];
  // Until a wheel is published, --index-url alone finds nothing: say so where people copy the line.
  const noWheel = input.artifacts.some((a) => parseWheelFilename(a.filename))
    ? ''
    : `Kiln has not published a wheel of ${name} yet, so this finds nothing until it does. `;
  return [
    {
      title: 'pip: use Kiln’s wheels, and PyPI for everything else',
      lines: [`pip install --extra-index-url ${index} ${name}`],
      note:
        'pip looks in both indexes and picks the best match; for the same version it prefers Kiln’s wheel to PyPI’s sdist, ' +
        'so nothing is compiled on your machine when Kiln has built it.',
      links,
    },
    {
      title: 'pip: only Kiln’s index',
      lines: [`pip install --index-url ${index} ${name}`],
      note: `${noWheel}Only what Kiln has published is found this way: dependencies Kiln has not built make the install fail.`,
    },
    {
      title: 'pip.conf: always use Kiln',
      lines: ['# /etc/pip.conf, or ~/.config/pip/pip.conf for one user', '[global]', `extra-index-url=${index}`],
    },
  ];
}
