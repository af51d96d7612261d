/**
 * The piwheels-style site on a real PyPI farm: a Kiln worker builds a C
 * extension from a local upstream (as in pypi-farm.test.ts), and the output
 * path then has the project page with dependencies, piwheels' project JSON
 * at `project/<name>/json/`, the packages page with its search data, and
 * the sitemap.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPypiMaster, createPypiWorker } from '../../src/ecosystems/pypi/index.ts';
import type { ProjectJson } from '../../src/ecosystems/pypi/site-json.ts';
import { publishSitemap } from '../../src/master/publisher.ts';
import type { SearchIndex } from '../../src/site/search.ts';
import { startFarm, waitFor, type Farm } from '../helpers/farm.ts';
import { makeSdist, missingSeedWheels, startLocalIndex, type LocalIndex } from '../helpers/pypi-fixture.ts';
import { PypiUpstreamModel, startPypiUpstream, type PypiUpstream } from '../helpers/pypi-upstream.ts';

const skipReason = missingSeedWheels();
let dir: string;
let upstream: PypiUpstream;
let index: LocalIndex;
let farm: Farm;
let out: string;

beforeAll(async () => {
  if (skipReason) return;
  dir = await mkdtemp(join(tmpdir(), 'kiln-pypi-site-'));
  const cext = await makeSdist(dir, { name: 'kiln-site-cext', version: '1.0', kind: 'c-ext', requiresPython: '>=3.8', requires: ['kiln-pure>=1.0'] });
  const model = new PypiUpstreamModel();
  model.createPackage('kiln-site-cext', 'A C extension for the site test');
  model.addFile('kiln-site-cext', '1.0', { kind: 'sdist', content: readFileSync(cext.path) });
  // Binary only: known, skipped, listed in the JSON with its skip reason.
  model.addFile('kiln-site-cext', '2.0b1', { kind: 'wheel' });
  upstream = await startPypiUpstream(model);
  index = await startLocalIndex([cext.path]);
  farm = await startFarm([createPypiMaster({ xmlrpc: upstream.xmlrpcUrl, simple: index.url, json: upstream.jsonUrl, packages: [] })], { lease_s: 60 });
  await farm.master.syncNow();
  const w = farm.worker(createPypiWorker(), { sandbox: 'auto' });
  await waitFor(async () => {
    const r = await farm.db.query<{ status: string }>('SELECT status FROM builds');
    return r.length === 1 && r[0]!.status !== 'running';
  }, 180_000, 'the wheel build');
  await farm.settle();
  await w.stop();
  // The home page (and with it search and sitemap) is debounced: ask for it and wait.
  farm.master.publisher.home();
  await farm.settle();
  out = farm.master.ctx.paths.outputPath;
}, 240_000);

afterAll(async () => {
  await farm?.close();
  await index?.close();
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!!skipReason)(`the piwheels-style site${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('writes project/<name>/json/index.json with piwheels\' fields for the built wheel', async () => {
    const builds = await farm.db.query<{ status: string; failure_reason: string | null }>('SELECT status, failure_reason FROM builds');
    expect(builds[0], builds[0]?.failure_reason ?? '').toMatchObject({ status: 'passed' });
    const doc = JSON.parse(readFileSync(join(out, 'project', 'kiln-site-cext', 'json', 'index.json'), 'utf8')) as ProjectJson;
    expect(doc.package).toBe('kiln-site-cext');
    expect(doc.summary).toBe('A C extension for the site test');
    expect(doc.pypi_url).toMatch(/\/project\/kiln-site-cext\/$/);
    expect(doc.piwheels_url).toBe(`${farm.master.url}/project/kiln-site-cext/`);
    expect(Object.keys(doc.releases).sort()).toEqual(['1.0', '2.0b1']);
    expect(doc.releases['2.0b1']).toMatchObject({ prerelease: true, yanked: false, files: {} });
    expect(doc.releases['2.0b1']!.skip_reason).toContain('binary only');
    const rel = doc.releases['1.0']!;
    expect(rel).toMatchObject({ prerelease: false, yanked: false, skip_reason: '' });
    expect(rel.released).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const names = Object.keys(rel.files);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^kiln_site_cext-1\.0-cp3\d+-cp3\d+-linux_x86_64\.whl$/);
    const f = rel.files[names[0]!]!;
    const [art] = await farm.db.query<{ sha256: string; size: number }>(`SELECT sha256, size FROM artifacts WHERE filename = $1`, [names[0]]);
    expect(f).toMatchObject({ filehash: art!.sha256, filesize: Number(art!.size), platform: 'linux_x86_64', requires_python: '>=3.8', pip_dependencies: ['kiln-pure'] });
    expect(f.builder_abi).toMatch(/^cp3\d+$/);
    expect(f.file_abi_tag).toBe(f.builder_abi);
    expect(Array.isArray(f.apt_dependencies)).toBe(true);
    // The file URL serves the wheel.
    const r = await fetch(f.file_url);
    expect(r.status).toBe(200);
    expect(Number(r.headers.get('content-length') ?? (await r.arrayBuffer()).byteLength)).toBe(f.filesize);
    // piwheels' /project/<name>/ address leads to the package page.
    expect(readFileSync(join(out, 'project', 'kiln-site-cext', 'index.html'), 'utf8')).toContain('../../packages/pypi/kiln-site-cext/index.html');
    // And Kiln's own server answers piwheels' JSON address, with or without the slash.
    for (const url of [`${farm.master.url}/project/kiln-site-cext/json/`, `${farm.master.url}/project/kiln-site-cext/json`]) {
      const viaServer = await fetch(url);
      expect(viaServer.status, url).toBe(200);
      expect(viaServer.headers.get('content-type')).toContain('application/json');
      expect(((await viaServer.json()) as ProjectJson).package).toBe('kiln-site-cext');
    }
  });

  it('shows dependencies, the pip command and logs on the package page', () => {
    const page = readFileSync(join(out, 'packages', 'pypi', 'kiln-site-cext', 'index.html'), 'utf8');
    expect(page).toContain('<h2>Dependencies</h2>');
    expect(page).toContain('<td class="pip">kiln-pure</td>');
    expect(page).toContain(`pip install --extra-index-url ${farm.master.url}/pypi/simple/ kiln-site-cext`);
    expect(page).toMatch(/href="\.\.\/\.\.\/\.\.\/logs\/[^"]+\.txt\.gz">log</);
    const json = JSON.parse(readFileSync(join(out, 'packages', 'pypi', 'kiln-site-cext', 'json', 'index.json'), 'utf8')) as { versions: Record<string, { dependencies: Record<string, string[]> }> };
    expect(json.versions['1.0']!.dependencies.pip).toEqual(['kiln-pure']);
  });

  it('writes packages.html with packages.json listing the packages, linked from the home page', () => {
    const home = readFileSync(join(out, 'index.html'), 'utf8');
    expect(home).toContain('href="packages.html"');
    const html = readFileSync(join(out, 'packages.html'), 'utf8');
    expect(html).toContain("fetch('packages.json')");
    expect(html).toContain('<noscript>');
    const data = JSON.parse(readFileSync(join(out, 'packages.json'), 'utf8')) as SearchIndex;
    const row = data.packages.find((p) => p[data.columns.indexOf('name')] === 'kiln-site-cext');
    expect(row).toBeDefined();
    expect(row![data.columns.indexOf('href')]).toBe('packages/pypi/kiln-site-cext/index.html');
    expect(row![data.columns.indexOf('builds_passed')]).toBe(1);
    expect(existsSync(join(out, row![data.columns.indexOf('href')] as string))).toBe(true);
  });

  it('writes sitemap.xml with home, packages.html and every package page, split when asked', async () => {
    const xml = readFileSync(join(out, 'sitemap.xml'), 'utf8');
    const base = farm.master.url;
    expect(xml).toContain(`<loc>${base}/</loc>`);
    expect(xml).toContain(`<loc>${base}/packages.html</loc>`);
    expect(xml).toContain(`<loc>${base}/packages/pypi/kiln-site-cext/</loc>`);
    // Three URLs at one per file: an index and three parts; back to one file and the parts go.
    await publishSitemap(farm.master.ctx, undefined, 1);
    expect(readFileSync(join(out, 'sitemap.xml'), 'utf8')).toContain(`<loc>${base}/sitemap-3.xml</loc>`);
    expect(readFileSync(join(out, 'sitemap-3.xml'), 'utf8')).toContain(`<loc>${base}/packages/pypi/kiln-site-cext/</loc>`);
    await publishSitemap(farm.master.ctx);
    expect(existsSync(join(out, 'sitemap-1.xml'))).toBe(false);
    expect(readFileSync(join(out, 'sitemap.xml'), 'utf8')).toContain('<urlset');
  });
});
