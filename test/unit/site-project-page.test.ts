/**
 * The piwheels-style project page for a PyPI package, rendered from a view
 * model that has every kind of cell: passed, failed, skipped, served by a
 * none wheel, running, pending, and a yanked release. The npm-style page
 * (files inside the cells) is covered in site-render.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { usage } from '../../src/ecosystems/pypi/usage.ts';
import type { RepositoryInput } from '../../src/ecosystems/types.ts';
import { compareTargets, formatDuration, renderPackage, type Cell, type PackagePage, type PageFile } from '../../src/site/render.ts';

const ROOT = '../../../';
const H = (c: string) => c.repeat(64);
const T = ['cp39-linux_x86_64', 'cp311-linux_x86_64', 'cp313-linux_x86_64'] as const;
const file = (filename: string, sha: string, extra: Partial<PageFile> = {}): PageFile => ({
  filename,
  url: `${ROOT}pypi/files/${filename}`,
  size: 123_456,
  sha256: sha,
  ...extra,
});
const pure = file('my_pkg-1.0-py3-none-any.whl', H('a'), { kind: 'wheel' });
const pureMeta = file('my_pkg-1.0-py3-none-any.whl.metadata', H('b'), { kind: 'metadata', sidecarOf: pure.filename });
const cext = file('my_pkg-1.1-cp311-cp311-linux_x86_64.whl', H('c'), { kind: 'wheel' });
const log = (id: number) => `${ROOT}logs/0/${id}.txt.gz`;

const repository: RepositoryInput = {
  packageName: 'my-pkg',
  displayName: 'My.Pkg',
  packageMeta: { project_url: 'https://pypi.org/project/my-pkg/' },
  artifacts: [{ filename: pure.filename, size: 1, sha256: H('a'), tags: {}, storePath: '/s/a', version: '1.0', target: T[1] }],
  versions: [],
  baseUrl: 'http://kiln.example/',
};

const cells = (c: [Cell, Cell, Cell]): Record<string, Cell> => Object.fromEntries(T.map((t, i) => [t, c[i]!]));

const page: PackagePage = {
  ecosystem: 'pypi',
  name: 'my-pkg',
  displayName: 'My.Pkg',
  summary: 'Does <things>',
  skip: null,
  syncError: null,
  targets: [...T],
  usage: usage(repository),
  versions: [
    {
      version: '2.0', released: '2026-01-03', skip: null, yanked: true, yankedReason: 'broken <build>', deprecated: null,
      cells: cells([
        { state: 'queued', files: [] },
        { state: 'running', buildId: 7, worker: 'pi-4', startedAt: '2026-01-04 10:20', files: [] },
        { state: 'queued', files: [] },
      ]),
      files: [],
      builds: [{ id: 7, target: T[1], status: 'running', startedAt: '2026-01-04 10:20', worker: 'pi-4' }],
    },
    {
      version: '1.1', released: '2026-01-02', skip: null, yanked: false, deprecated: null,
      cells: cells([
        { state: 'skipped', reason: 'requires_python ">=3.10" excludes Python 3.9.2', files: [] },
        { state: 'passed', buildId: 5, durationS: 75, logUrl: log(5), files: [cext] },
        { state: 'failed', buildId: 6, durationS: 3.2, reason: 'pip wheel exited with 1', logUrl: log(6), files: [] },
      ]),
      dependencies: [{ kind: 'apt', items: ['libfoo1'] }, { kind: 'pip', items: ['six'] }],
      files: [
        {
          file: cext, target: T[1], buildId: 5, targets: [T[1]],
          tags: { abi_tag: 'cp311', platform_tag: 'linux_x86_64', requires_python: '>=3.10' },
          dependencies: [{ kind: 'apt', items: ['libfoo1'] }, { kind: 'pip', items: ['six'] }],
          sidecars: [],
        },
      ],
      builds: [
        { id: 6, target: T[2], status: 'failed', startedAt: '2026-01-02 09:00', durationS: 3.2, worker: 'pi-4', reason: 'pip wheel exited with 1', logUrl: log(6) },
        { id: 5, target: T[1], status: 'passed', startedAt: '2026-01-02 08:00', durationS: 75, worker: 'pi-4', logUrl: log(5) },
      ],
    },
    {
      version: '1.0', released: '2026-01-01', skip: null, yanked: false, deprecated: null,
      cells: cells([
        { state: 'served', reason: 'served by …', files: [], servedBy: { file: pure, target: T[1], buildId: 3, logUrl: log(3) } },
        { state: 'passed', buildId: 3, durationS: 0.05, logUrl: log(3), files: [pure, pureMeta] },
        { state: 'served', reason: 'served by …', files: [], servedBy: { file: pure, target: T[1], buildId: 3, logUrl: log(3) } },
      ]),
      files: [
        {
          file: pure, target: T[1], buildId: 3, targets: [...T],
          tags: { abi_tag: 'none', platform_tag: 'any', requires_python: null },
          dependencies: [], sidecars: [pureMeta],
        },
      ],
      builds: [
        { id: 3, target: T[1], status: 'passed', startedAt: '2026-01-01 08:00', durationS: 0.05, worker: 'pi-4', logUrl: log(3) },
        { id: 2, target: T[1], status: 'expired', startedAt: '2026-01-01 07:00', worker: null, logUrl: log(2) },
      ],
    },
    { version: '0.9', released: '2025-12-01', skip: 'binary only', yanked: false, deprecated: null, cells: {}, files: [], builds: [] },
  ],
};

const html = renderPackage(page, ROOT);

/** The `<td>`s of one release's row: version, released, then one per target. */
function rowCells(version: string): string[] {
  const start = html.indexOf(`<tr id="v${version}"`);
  expect(start, `row of ${version}`).toBeGreaterThan(-1);
  return html.slice(start, html.indexOf('</tr>', start)).split('<td').slice(1);
}

/** The section of one release below the table (its files and build logs). */
function release(version: string): string {
  const start = html.indexOf(`<section class="release" id="r${version}">`);
  expect(start, `section of ${version}`).toBeGreaterThan(-1);
  return html.slice(start, html.indexOf('</section>', start));
}

describe('the PyPI project page', () => {
  it('has a header with the summary and links to the upstream page, the project JSON and the build JSON', () => {
    expect(html).toContain('<h1>My.Pkg <span class="tag">pypi</span></h1>');
    expect(html).toContain('Does &lt;things&gt;');
    expect(html).toContain('<a href="https://pypi.org/project/my-pkg/">upstream project page</a>');
    expect(html).toContain(`<a href="${ROOT}project/my-pkg/json/index.json">project JSON</a>`);
    expect(html).toContain('<a href="json/index.json">builds as JSON</a>');
  });

  it('has an Install box with both pip commands and the pip.conf lines', () => {
    const install = html.slice(html.indexOf('<section class="install">'), html.indexOf('</section>', html.indexOf('<section class="install">')));
    expect(install).toContain('<h2>Install</h2>');
    expect(install).toContain('<pre>pip install --extra-index-url http://kiln.example/pypi/simple/ My.Pkg</pre>');
    expect(install).toContain('<pre>pip install --index-url http://kiln.example/pypi/simple/ My.Pkg</pre>');
    expect(install).toContain('<pre># /etc/pip.conf, or ~/.config/pip/pip.conf for one user\n[global]\nextra-index-url=http://kiln.example/pypi/simple/</pre>');
  });

  it('has one column per target, in the order given, and one row per release', () => {
    const head = html.slice(html.indexOf('<table class="matrix">'), html.indexOf('</thead>'));
    expect(head).toBe(`<table class="matrix"><thead><tr><th>version</th><th>released</th>${T.map((t) => `<th><code>${t}</code></th>`).join('')}</tr>`);
    for (const v of ['2.0', '1.1', '1.0', '0.9']) expect(rowCells(v).length, v).toBe(v === '0.9' ? 3 : 5);
  });

  it('links a passed cell to its wheel and its log, without listing the sidecar', () => {
    const c = rowCells('1.1')[3]!;
    expect(c).toMatch(/^ class="passed"><span class="state">passed<\/span> <span class="small">1 min 15 s<\/span>/);
    expect(c).toContain(`<a href="${cext.url}" title="${cext.filename}">wheel</a> · <a href="${log(5)}">log</a>`);
    const c10 = rowCells('1.0')[3]!;
    expect(c10).toContain(`<a href="${pure.url}" title="${pure.filename}">wheel</a>`);
    expect(c10).not.toContain('metadata');
  });

  it('links a failed cell to its build log, with the reason', () => {
    const c = rowCells('1.1')[4]!;
    expect(c).toMatch(/^ class="failed"><span class="state">failed<\/span>/);
    expect(c).toContain('pip wheel exited with 1');
    expect(c).toContain(`<a href="${log(6)}">log</a>`);
  });

  it('says why a target is skipped', () => {
    const c = rowCells('1.1')[2]!;
    expect(c).toMatch(/^ class="skipped"><span class="state">skipped<\/span>/);
    expect(c).toContain('requires_python &quot;&gt;=3.10&quot; excludes Python 3.9.2');
  });

  it('shows the targets a none wheel serves as served by that wheel, linking it and its build log', () => {
    for (const i of [2, 4]) {
      const c = rowCells('1.0')[i]!;
      expect(c).toMatch(/^ class="served"><span class="state">served<\/span>/);
      expect(c).toContain(`by the <a href="${pure.url}" title="${pure.filename}">wheel</a> built for <code>${T[1]}</code> (<a href="${log(3)}">log</a>)`);
      expect(c).not.toContain('pending');
    }
  });

  it('shows running builds as building, with the worker, and queued ones as pending', () => {
    const [version, , q39, r311, q313] = rowCells('2.0');
    expect(r311).toMatch(/^ class="running"><span class="state">building<\/span>/);
    expect(r311).toContain('on pi-4 since 2026-01-04 10:20');
    expect(r311).not.toContain('logs/');
    expect(q39).toMatch(/^ class="queued"><span class="state">pending<\/span>/);
    expect(q313).toMatch(/^ class="queued"><span class="state">pending<\/span>/);
    expect(version).toContain('yanked: broken &lt;build&gt;');
    expect(html).toContain('<tr id="v2.0" class="yanked">');
  });

  it('shows a skipped release across all targets', () => {
    expect(rowCells('0.9')[2]).toContain('colspan="3">skipped: binary only');
  });

  it('lists each release\'s files with size, short sha256, ABI, platform, requires_python, targets and dependencies', () => {
    const r = release('1.1');
    expect(r).toContain('<th>file</th><th>size</th><th>sha256</th><th>ABI</th><th>platform</th><th>requires_python</th><th>installs on</th><th>apt dependencies</th><th>pip dependencies</th>');
    expect(r).toContain(`<a href="${cext.url}" title="${cext.filename}">${cext.filename}</a>`);
    expect(r).toContain('<td class="num">123.5 kB</td>');
    expect(r).toContain(`<code class="hash" title="sha256:${H('c')}">${H('c').slice(0, 12)}…</code>`);
    expect(r).toContain('<td><code>cp311</code></td><td><code>linux_x86_64</code></td><td><code>&gt;=3.10</code></td><td class="small"><span class="nowrap">cp311-linux_x86_64</span></td>');
    expect(r).toContain('<td class="apt">libfoo1</td><td class="pip">six</td>');
    const r10 = release('1.0');
    expect(r10).toContain(`<span class="small nowrap">(<a href="${pureMeta.url}" title="${pureMeta.filename}">metadata</a>)`);
    expect(r10).toContain(`<td class="small">${T.map((t) => `<span class="nowrap">${t}</span>`).join(', ')}</td>`);
    // No requires_python: an empty cell, not an empty code element.
    expect(r10).toContain('<td><code>none</code></td><td><code>any</code></td><td></td>');
    expect(r10).not.toContain('dependencies</th>');
  });

  it('links every build log, including superseded builds, and says when a running one will have its log', () => {
    for (const id of [2, 3, 5, 6]) expect(html).toContain(`<a href="${log(id)}">log</a>`);
    const r10 = release('1.0');
    expect(r10).toContain(`<td class="expired">expired</td>`);
    expect(r10).toContain(`<a href="${log(2)}">log</a>`);
    expect(release('2.0')).toContain('<span class="small">when it ends</span>');
    expect(release('1.1')).toContain('<td class="failed">failed<div class="small">pip wheel exited with 1</div></td>');
    // The row links down to it.
    expect(rowCells('1.0')[0]).toContain('<a href="#r1.0">details</a>');
    expect(rowCells('0.9')[0]).not.toContain('details');
  });

  it('keeps the Dependencies section with the apt line for the newest release that has some', () => {
    expect(html).toContain('<h2>Dependencies</h2>');
    expect(html).toContain('<pre>sudo apt install libfoo1</pre>');
  });

  it('says when no wheel is published yet', () => {
    const none = usage({ ...repository, artifacts: [] });
    expect(none[1]!.note).toContain('has not published a wheel of My.Pkg yet');
    expect(usage(repository)[1]!.note).not.toContain('has not published');
  });
});

describe('page helpers', () => {
  it('orders targets as versions', () => {
    expect(['cp313-linux_x86_64', 'cp39-linux_x86_64', 'cp313t-linux_x86_64', 'cp311-linux_x86_64'].sort(compareTargets)).toEqual([
      'cp39-linux_x86_64',
      'cp311-linux_x86_64',
      'cp313-linux_x86_64',
      'cp313t-linux_x86_64',
    ]);
    expect(['node-v115-linux-x64', 'node-v93-linux-x64', 'napi-linux-x64'].sort(compareTargets)).toEqual(['napi-linux-x64', 'node-v93-linux-x64', 'node-v115-linux-x64']);
  });

  it('formats durations', () => {
    expect([0.05, 3.24, 75, 3725].map(formatDuration)).toEqual(['<0.1 s', '3.2 s', '1 min 15 s', '1 h 2 min']);
  });
});
