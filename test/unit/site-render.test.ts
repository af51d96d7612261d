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
  it('keeps files, sizes and hashes inside the cells for an ecosystem without Files tables, and links every build log', () => {
    const html = renderPackage({
      ...page,
      ecosystem: 'shell',
      versions: [{
        version: '2.0.0', released: '2026-01-05', skip: null, yanked: false, deprecated: null,
        cells: { t1: { state: 'passed', durationS: 0.05, buildId: 4, logUrl: '../../logs/0/4.txt.gz', files: [{ filename: 'x-2.0.0.bin', url: '../../shell/x/x-2.0.0.bin', size: 3, sha256: 'ab'.repeat(32) }] } },
        files: [{ file: { filename: 'x-2.0.0.bin', url: '../../shell/x/x-2.0.0.bin', size: 3, sha256: 'ab'.repeat(32) }, target: 't1', buildId: 4, targets: ['t1'], tags: {}, dependencies: [], sidecars: [] }],
        builds: [
          { id: 4, target: 't1', status: 'passed', startedAt: '2026-01-05 10:00', durationS: 0.05, worker: 'w1', logUrl: '../../logs/0/4.txt.gz' },
          { id: 3, target: 't1', status: 'expired', startedAt: '2026-01-05 09:00', worker: null, logUrl: '../../logs/0/3.txt.gz' },
        ],
      }],
    }, '../../');
    expect(html).toContain('<span class="state">passed</span> <span class="small">&lt;0.1 s</span>');
    expect(html).toContain('<div class="file"><a href="../../shell/x/x-2.0.0.bin">x-2.0.0.bin</a> <span class="small">3 bytes</span><br><code class="sha">sha256:' + 'ab'.repeat(32) + '</code></div>');
    expect(html).not.toContain('<table class="files">');
    expect(html).toContain('<h2>Build logs</h2>');
    expect(html).toContain('<a href="../../logs/0/3.txt.gz">log</a>');
    // The legend explains only the states the table shows.
    expect(html).toContain('<p class="small legend"><span class="passed">passed</span> built</p>');
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
