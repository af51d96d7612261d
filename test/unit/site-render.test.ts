import { describe, expect, it } from 'vitest';
import { formatBytes, renderNotFound, renderPackage, type PackagePage } from '../../src/site/render.ts';

const page: PackagePage = {
  ecosystem: 'npm', name: '@s/x', displayName: '@s/x', summary: '<b>bold</b>', skip: null, syncError: null,
  targets: ['t1'],
  versions: [{ version: '1.0.0', released: '2026-01-01', skip: null, yanked: false, deprecated: null, cells: { t1: { state: 'skipped', reason: 'engines.node ">=22" excludes Node 20', files: [] } } }],
  usage: [{ title: 'Use it', lines: ['export A=1', 'npm install x'] }],
};

describe('site rendering', () => {
  it('keeps usage lines on their own lines, ready to paste', () => {
    expect(renderPackage(page, '../../../../')).toContain('<pre>export A=1\nnpm install x</pre>');
  });
  it('escapes what comes from upstream', () => {
    const html = renderPackage(page, '../../../../');
    expect(html).not.toContain('<b>bold</b>');
    expect(html).toContain('&lt;b&gt;bold&lt;/b&gt;');
    expect(html).toContain('engines.node &quot;&gt;=22&quot; excludes Node 20');
  });
  it('links the 404 page from the published root', () => {
    expect(renderNotFound('/mirror/')).toContain('href="/mirror/style.css"');
    expect(renderNotFound()).toContain('href="/index.html"');
  });
  it('formats sizes', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
  });
});

describe('output paths', () => {
  it('refuses paths that leave the output path or touch dot folders', async () => {
    const { outputFile } = await import('../../src/master/atomic-write.ts');
    expect(outputFile('/srv/www', 'packages/npm/@s/x/index.html')).toBe('/srv/www/packages/npm/@s/x/index.html');
    expect(outputFile('/srv/www', 'npm/prebuilds/x/v1.0.0-rc.1/x.tar.gz')).toBe('/srv/www/npm/prebuilds/x/v1.0.0-rc.1/x.tar.gz');
    for (const bad of ['../x', 'packages/npm/../../../etc/passwd', '/etc/passwd', '.kiln/published/x.json', '']) {
      expect(() => outputFile('/srv/www', bad), bad).toThrow('refusing to publish outside the output path');
    }
  });
});
