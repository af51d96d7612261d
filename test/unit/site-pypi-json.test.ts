import { describe, expect, it } from 'vitest';
import { createPypiMaster } from '../../src/ecosystems/pypi/index.ts';
import { projectJson, upstreamProjectUrl } from '../../src/ecosystems/pypi/site-json.ts';
import type { RepositoryInput } from '../../src/ecosystems/types.ts';

const sha = (c: string) => c.repeat(64);
const input: RepositoryInput = {
  packageName: 'kiln-cext',
  displayName: 'Kiln_Cext',
  summary: 'A C extension',
  packageMeta: {},
  baseUrl: 'http://127.0.0.1:8470/',
  versions: [
    { version: '2.0rc1', yanked: false, skip: 'binary only', meta: {}, released: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) },
    { version: '1.0', yanked: true, skip: null, meta: {}, released: new Date(Date.UTC(2026, 0, 1, 12, 0, 0)) },
  ],
  artifacts: [
    {
      filename: 'kiln_cext-1.0-cp311-cp311-linux_x86_64.whl', size: 1234, sha256: sha('a'), storePath: '/store/a', version: '1.0', target: 'cp311-linux_x86_64',
      tags: { kind: 'wheel', python_tag: 'cp311', abi_tag: 'cp311', platform_tag: 'linux_x86_64', build_tag: null, requires_python: '>=3.8', dependencies: { apt: ['libfoo1', 'libc6', 'libc6'], pip: ['requests>=2'] } },
    },
    { filename: 'kiln_cext-1.0-cp311-cp311-linux_x86_64.whl.metadata', size: 10, sha256: sha('b'), storePath: '/store/b', version: '1.0', target: 'cp311-linux_x86_64', tags: { kind: 'metadata' } },
  ],
};

describe('piwheels-style project JSON', () => {
  it('has the fields piwheels serves, per release and per wheel', () => {
    const doc = projectJson(input, 'https://pypi.org/project/kiln-cext/');
    expect(doc).toEqual({
      package: 'kiln-cext',
      summary: 'A C extension',
      pypi_url: 'https://pypi.org/project/kiln-cext/',
      piwheels_url: 'http://127.0.0.1:8470/project/kiln-cext/',
      releases: {
        '2.0rc1': { released: '2026-01-02 03:04:05', prerelease: true, yanked: false, skip_reason: 'binary only', files: {} },
        '1.0': {
          released: '2026-01-01 12:00:00',
          prerelease: false,
          yanked: true,
          skip_reason: '',
          files: {
            'kiln_cext-1.0-cp311-cp311-linux_x86_64.whl': {
              filehash: sha('a'),
              filesize: 1234,
              builder_abi: 'cp311',
              file_abi_tag: 'cp311',
              platform: 'linux_x86_64',
              requires_python: '>=3.8',
              apt_dependencies: ['libc6', 'libfoo1'],
              pip_dependencies: ['requests>=2'],
              file_url: 'http://127.0.0.1:8470/pypi/files/kiln_cext-1.0-cp311-cp311-linux_x86_64.whl',
            },
          },
        },
      },
    });
  });

  it('links the upstream project page on the configured index', () => {
    expect(upstreamProjectUrl('https://pypi.org/pypi/', 'Kiln_Cext')).toBe('https://pypi.org/project/kiln-cext/');
    expect(upstreamProjectUrl('http://127.0.0.1:9/mirror/pypi', 'x')).toBe('http://127.0.0.1:9/mirror/project/x/');
  });

  it('is published through the ecosystem at project/<normalised>/json/index.json, with a redirect page beside it', () => {
    const eco = createPypiMaster({ xmlrpc: 'https://pypi.org/pypi', simple: 'https://pypi.org/simple', json: 'https://pypi.org/pypi', packages: [] });
    const files = eco.siteFiles!(input);
    expect([...files.keys()].sort()).toEqual(['project/kiln-cext/index.html', 'project/kiln-cext/json/index.json']);
    const json = JSON.parse(String((files.get('project/kiln-cext/json/index.json') as { content: string }).content)) as { pypi_url: string };
    expect(json.pypi_url).toBe('https://pypi.org/project/kiln-cext/');
    expect(String((files.get('project/kiln-cext/index.html') as { content: string }).content)).toContain('url=../../packages/pypi/kiln-cext/index.html');
    expect(eco.negotiate!('/project/kiln-cext/json/', '*/*')).toEqual({ path: 'project/kiln-cext/json/index.json', contentType: 'application/json; charset=utf-8' });
    expect(eco.negotiate!('/project/kiln-cext/json', 'text/html')?.path).toBe('project/kiln-cext/json/index.json');
    expect(eco.negotiate!('/project/kiln-cext/', '*/*')).toBeUndefined();
  });
});
