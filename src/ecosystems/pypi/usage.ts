/**
 * "How to install from Kiln" for a PyPI project page: pip command lines
 * and a pip.conf snippet, pointing at Kiln's simple index.
 */
import type { RepositoryInput, UsageBlock } from '../types.ts';
import { SIMPLE_ROOT } from './repository.ts';

/** Kiln's simple index URL for a base URL, with a trailing '/'. */
export function simpleIndexUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${SIMPLE_ROOT}/`;
}

/** The usage blocks for one project. */
export function usage(input: RepositoryInput): UsageBlock[] {
  const index = simpleIndexUrl(input.baseUrl);
  const name = input.displayName;
  return [
    {
      title: 'pip: use Kiln’s wheels, and PyPI for everything else',
      lines: [`pip install --extra-index-url ${index} ${name}`],
      note:
        'pip looks in both indexes and picks the best match; for the same version it prefers Kiln’s wheel to PyPI’s sdist, ' +
        'so nothing is compiled on your machine when Kiln has built it.',
    },
    {
      title: 'pip: only Kiln’s index',
      lines: [`pip install --index-url ${index} ${name}`],
      note: 'Only what Kiln has published is found this way: dependencies Kiln has not built make the install fail.',
    },
    {
      title: 'pip.conf: always use Kiln',
      lines: ['# /etc/pip.conf, or ~/.config/pip/pip.conf for one user', '[global]', `extra-index-url=${index}`],
    },
  ];
}
