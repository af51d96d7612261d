import { describe, expect, it } from 'vitest';
import { renderPackage, renderPackages, type PackagePage } from '../../src/site/render.ts';
import { SEARCH_COLUMNS, SEARCH_SUMMARY_MAX, searchIndex, searchKey } from '../../src/site/search.ts';

describe('packages page search data', () => {
  const data = searchIndex(
    [
      { ecosystem: 'pypi', name: 'zope-interface', displayName: 'zope.interface', summary: '  Interfaces\n for Python ', versions: 3, passed: 2 },
      { ecosystem: 'npm', name: '@s/x', displayName: '@s/x', summary: null, versions: 1, passed: 0 },
      { ecosystem: 'pypi', name: 'long', displayName: 'Long', summary: 'x'.repeat(500), versions: 0, passed: 0 },
    ],
    '2026-01-01T00:00:00.000Z',
  );

  it('lists every package as a row in column order, sorted by ecosystem then name', () => {
    expect(data.columns).toEqual(SEARCH_COLUMNS);
    expect(data.generated).toBe('2026-01-01T00:00:00.000Z');
    expect(data.packages.map((p) => `${p[0]}/${p[1]}`)).toEqual(['npm/@s/x', 'pypi/long', 'pypi/zope-interface']);
    expect(data.packages[2]).toEqual(['pypi', 'zope-interface', 'zope.interface', 'packages/pypi/zope-interface/index.html', 'Interfaces for Python', 3, 2]);
    expect(data.packages[0]![3]).toBe('packages/npm/@s/x/index.html');
    expect(data.packages[0]![4]).toBe('');
  });

  it('cuts long summaries', () => {
    expect(data.packages[1]![4].length).toBe(SEARCH_SUMMARY_MAX);
    expect(data.packages[1]![4].endsWith('…')).toBe(true);
  });

  it('compares names the way PEP 503 does', () => {
    expect(searchKey('Zope.Interface')).toBe(searchKey('zope_interface'));
    expect(searchKey('a--b__c')).toBe('a-b-c');
  });

  it('the page is small, fetches packages.json, and says what to do without JavaScript', () => {
    const html = renderPackages({ total: 3, ecosystems: ['npm', 'pypi'] });
    expect(html).toContain("fetch('packages.json')");
    expect(html).toContain('<noscript>');
    expect(html).toContain('href="sitemap.xml"');
    expect(html).toContain('<option value="pypi">pypi</option>');
    expect(html).toContain('3 packages in 2 ecosystems');
    expect(html.length).toBeLessThan(10_000);
  });
});

describe('package page dependencies', () => {
  const page: PackagePage = {
    ecosystem: 'pypi', name: 'kiln-cext', displayName: 'kiln-cext', summary: null, skip: null, syncError: null,
    targets: ['cp311-linux_x86_64'],
    versions: [
      { version: '2.0', released: '2026-01-02', skip: null, yanked: false, deprecated: null, cells: { 'cp311-linux_x86_64': { state: 'queued', files: [] } } },
      {
        version: '1.0', released: '2026-01-01', skip: null, yanked: false, deprecated: null,
        cells: { 'cp311-linux_x86_64': { state: 'passed', files: [] } },
        dependencies: [{ kind: 'apt', items: ['libc6', 'libfoo1'] }, { kind: 'pip', items: [] }, { kind: 'other', items: ['<x>'] }],
      },
    ],
    usage: [{ title: 'pip', lines: ['pip install kiln-cext'] }],
  };

  it('shows each kind, an apt install line for the newest version with dependencies, and keeps the rest of the page', () => {
    const html = renderPackage(page, '../../../');
    expect(html).toContain('<h2>Dependencies</h2>');
    expect(html).toContain('<pre>sudo apt install libc6 libfoo1</pre>');
    expect(html).toContain('<th>Debian packages (apt)</th><th>Requirements (pip)</th><th>other</th>');
    expect(html).toContain('libc6, libfoo1');
    expect(html).toContain('&lt;x&gt;');
    expect(html).toContain('<pre>pip install kiln-cext</pre>');
    expect(html).toContain('table class="matrix"');
  });

  it('has no dependencies section when no artifact says anything', () => {
    const html = renderPackage({ ...page, versions: page.versions.map(({ dependencies: _d, ...v }) => v) }, '../../../');
    expect(html).not.toContain('Dependencies');
  });
});
