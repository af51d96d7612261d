import { describe, expect, it } from 'vitest';
import { acceptQuality, indexFiles, negotiate, rootIndexHtml, rootIndexJson, repositoryFiles } from '../../src/ecosystems/pypi/repository.ts';
import { usage } from '../../src/ecosystems/pypi/usage.ts';
import type { PublishedArtifact, RepositoryInput } from '../../src/ecosystems/types.ts';

const H = (c: string) => c.repeat(64);

function art(filename: string, version: string, target: string, sha: string, tags: Record<string, unknown> = {}): PublishedArtifact {
  return { filename, size: 100, sha256: sha, tags, storePath: `/store/${sha.slice(0, 4)}/${filename}`, version, target };
}

const input: RepositoryInput = {
  packageName: 'my-pkg',
  displayName: 'My.Pkg',
  packageMeta: {},
  baseUrl: 'http://kiln.test:8470/',
  artifacts: [
    art('my_pkg-1.0-cp311-cp311-linux_x86_64.whl', '1.0', 'cp311-linux_x86_64', H('a'), { requires_python: '>=3.8,<4' }),
    art('my_pkg-1.0-cp311-cp311-linux_x86_64.whl.metadata', '1.0', 'cp311-linux_x86_64', H('b'), { kind: 'metadata' }),
    art('my_pkg-0.9-py3-none-any.whl', '0.9', 'cp311-linux_x86_64', H('c')),
    // The same pure wheel built again on another target: published once.
    art('my_pkg-0.9-py3-none-any.whl', '0.9', 'cp39-linux_x86_64', H('d')),
  ],
  versions: [
    { version: '1.0', yanked: false, skip: null, meta: { requires_python: '>=3.7' } },
    { version: '0.9', yanked: true, skip: null, meta: { requires_python: '>=3.6', yanked_reason: 'broken <b>"quoted"</b>' } },
  ],
};

describe('PyPI repository', () => {
  const files = repositoryFiles(input);

  it('writes the project pages and links each wheel and .metadata once', () => {
    expect([...files.keys()].sort()).toEqual([
      'pypi/files/my_pkg-0.9-py3-none-any.whl',
      'pypi/files/my_pkg-1.0-cp311-cp311-linux_x86_64.whl',
      'pypi/files/my_pkg-1.0-cp311-cp311-linux_x86_64.whl.metadata',
      'pypi/simple/my-pkg/index.html',
      'pypi/simple/my-pkg/index.json',
    ]);
    expect(files.get('pypi/files/my_pkg-0.9-py3-none-any.whl')).toEqual({ linkFrom: `/store/cccc/my_pkg-0.9-py3-none-any.whl` });
  });

  it('writes PEP 503 HTML with hashes, requires-python, yanked and PEP 658/714 metadata, all escaped', () => {
    const html = String((files.get('pypi/simple/my-pkg/index.html') as { content: string }).content);
    expect(html).toContain('<title>Links for My.Pkg</title>');
    expect(html).toContain(
      `<a href="../../files/my_pkg-1.0-cp311-cp311-linux_x86_64.whl#sha256=${H('a')}" data-requires-python="&gt;=3.8,&lt;4" ` +
        `data-dist-info-metadata="sha256=${H('b')}" data-core-metadata="sha256=${H('b')}">my_pkg-1.0-cp311-cp311-linux_x86_64.whl</a>`,
    );
    expect(html).toContain(
      `<a href="../../files/my_pkg-0.9-py3-none-any.whl#sha256=${H('c')}" data-requires-python="&gt;=3.6" ` +
        `data-yanked="broken &lt;b&gt;&quot;quoted&quot;&lt;/b&gt;">my_pkg-0.9-py3-none-any.whl</a>`,
    );
    expect(html).not.toContain(H('d'));
  });

  it('writes the same page as PEP 691 JSON (api-version 1.1)', () => {
    const doc = JSON.parse(String((files.get('pypi/simple/my-pkg/index.json') as { content: string }).content));
    expect(doc.meta).toEqual({ 'api-version': '1.1' });
    expect(doc.name).toBe('my-pkg');
    expect(doc.versions).toEqual(['0.9', '1.0']);
    expect(doc.files).toEqual([
      {
        filename: 'my_pkg-0.9-py3-none-any.whl',
        url: '../../files/my_pkg-0.9-py3-none-any.whl',
        hashes: { sha256: H('c') },
        size: 100,
        yanked: 'broken <b>"quoted"</b>',
        'core-metadata': false,
        'dist-info-metadata': false,
        'requires-python': '>=3.6',
      },
      {
        filename: 'my_pkg-1.0-cp311-cp311-linux_x86_64.whl',
        url: '../../files/my_pkg-1.0-cp311-cp311-linux_x86_64.whl',
        hashes: { sha256: H('a') },
        size: 100,
        yanked: false,
        'core-metadata': { sha256: H('b') },
        'dist-info-metadata': { sha256: H('b') },
        'requires-python': '>=3.8,<4',
      },
    ]);
  });

  it('works without per-version data (no yanks known)', () => {
    const html = String((repositoryFiles({ ...input, versions: [] }).get('pypi/simple/my-pkg/index.html') as { content: string }).content);
    expect(html).not.toContain('data-yanked');
  });

  it('writes root indexes over all projects, escaped and sorted', () => {
    const projects = [
      { name: 'Zed', normalised: 'zed' },
      { name: 'A<b>', normalised: 'a-b' },
    ];
    const html = rootIndexHtml(projects);
    expect(html.indexOf('href="a-b/"')).toBeLessThan(html.indexOf('href="zed/"'));
    expect(html).toContain('<a href="a-b/">A&lt;b&gt;</a>');
    expect(rootIndexJson(projects)).toEqual({ meta: { 'api-version': '1.1' }, projects: [{ name: 'A<b>' }, { name: 'Zed' }] });
  });

  it('writes the root index files over published packages', () => {
    const files = indexFiles([
      { name: 'my-pkg', displayName: 'My.Pkg', published: true },
      { name: 'nothing-yet', displayName: 'nothing-yet', published: false },
    ]);
    expect([...files.keys()]).toEqual(['pypi/simple/index.html', 'pypi/simple/index.json']);
    const html = String((files.get('pypi/simple/index.html') as { content: string }).content);
    expect(html).toContain('<a href="my-pkg/">My.Pkg</a>');
    expect(html).not.toContain('nothing-yet');
  });

  it('negotiates PEP 691 JSON by Accept, as pip asks for it', () => {
    const pip = 'application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01';
    expect(negotiate('/pypi/simple/my-pkg/', pip)).toEqual({ path: 'pypi/simple/my-pkg/index.json', contentType: 'application/vnd.pypi.simple.v1+json' });
    expect(negotiate('pypi/simple/', pip)).toEqual({ path: 'pypi/simple/index.json', contentType: 'application/vnd.pypi.simple.v1+json' });
    expect(negotiate('/pypi/simple/my-pkg/index.html', pip)?.path).toBe('pypi/simple/my-pkg/index.json');
    expect(negotiate('/pypi/simple/my-pkg/', 'text/html')).toBeUndefined();
    expect(negotiate('/pypi/simple/my-pkg/', '*/*')).toBeUndefined();
    expect(negotiate('/pypi/files/x.whl', pip)).toBeUndefined();
    expect(acceptQuality('text/*;q=0.5, text/html;q=0.2', 'text/html')).toBe(0.2);
  });

  it('tells users the pip command lines and a pip.conf', () => {
    const blocks = usage(input);
    const lines = blocks.flatMap((b) => b.lines);
    expect(lines).toContain('pip install --extra-index-url http://kiln.test:8470/pypi/simple/ My.Pkg');
    expect(lines).toContain('pip install --index-url http://kiln.test:8470/pypi/simple/ My.Pkg');
    expect(lines).toContain('extra-index-url=http://kiln.test:8470/pypi/simple/');
  });
});
