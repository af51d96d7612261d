/**
 * Names on a PyPI farm (piwheels' package_names): upstream respells a
 * project (`Foo_Bar`, then `foo.bar`); Kiln displays the spelling seen
 * last, keeps the others as aliases, and publishes them as symlinks to the
 * project's folders, which a plain static server follows and Kiln's own
 * server answers with a 301 to the canonical URL. `kiln add --alias` adds
 * one by hand. No builds: the pages exist as soon as the project is synced.
 */
import { execFile } from 'node:child_process';
import { lstatSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPackageNames } from '../../src/db/queries/package-names.ts';
import { getPackage } from '../../src/db/queries/packages.ts';
import { createPypiMaster } from '../../src/ecosystems/pypi/index.ts';
import type { ProjectJson } from '../../src/ecosystems/pypi/site-json.ts';
import { serveStatic, type StaticServer } from '../browser/static-server.ts';
import { startFarm, type Farm } from '../helpers/farm.ts';
import { PypiUpstreamModel, startPypiUpstream, type PypiUpstream } from '../helpers/pypi-upstream.ts';

const BIN = join(import.meta.dirname, '../../bin/kiln.js');
const model = new PypiUpstreamModel();
let upstream: PypiUpstream;
let farm: Farm;
let out: string;
let home: string;

async function sync(): Promise<void> {
  await farm.master.syncNow();
  await farm.settle();
}

const names = async () => {
  const pkg = (await getPackage(farm.db, 'pypi', 'foo-bar'))!;
  return { display: pkg.display_name, names: (await listPackageNames(farm.db, pkg.id)).map((r) => r.name) };
};
const linkAt = (rel: string) => {
  const p = join(out, rel);
  return lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink() ? readlinkSync(p) : null;
};
/** Run the kiln command; asynchronously, as the master it talks to runs in this process. */
const kiln = (args: string[]) =>
  new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: home, env: { ...process.env, HOME: home }, timeout: 90_000 }, (err, out, errOut) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
    );
  });
const get = (path: string) => fetch(`${farm.master.url}${path}`, { redirect: 'manual' });

beforeAll(async () => {
  model.createPackage('Foo_Bar', 'A project that changes how it spells its name');
  model.addFile('Foo_Bar', '1.0', { kind: 'sdist' });
  upstream = await startPypiUpstream(model);
  farm = await startFarm([createPypiMaster({ xmlrpc: upstream.xmlrpcUrl, simple: upstream.simpleUrl, json: upstream.jsonUrl, packages: [] })]);
  out = farm.master.ctx.paths.outputPath;
  home = await mkdtemp(join(tmpdir(), 'kiln-alias-home-'));
  await sync();
});

afterAll(async () => {
  await farm?.close();
  await upstream?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('another spelling of a PyPI project name', () => {
  it('records the first spelling as the display name, and links it, as it is not the normalised name', async () => {
    expect(await names()).toEqual({ display: 'Foo_Bar', names: ['Foo_Bar'] });
    // Foo_Bar is not the normalised name, so it is an alias of the project's folders already.
    expect(linkAt('project/Foo_Bar')).toBe('foo-bar');
  });

  it('displays the spelling seen last after upstream respells the project, and links the old one to it', async () => {
    model.rename('Foo_Bar', 'foo.bar');
    model.addFile('foo.bar', '2.0', { kind: 'sdist' });
    await sync();
    expect(await names()).toEqual({ display: 'foo.bar', names: ['foo.bar', 'Foo_Bar'] });
    for (const dir of ['project', 'pypi/simple', 'packages/pypi']) {
      expect(linkAt(`${dir}/Foo_Bar`), dir).toBe('foo-bar');
      expect(linkAt(`${dir}/foo.bar`), dir).toBe('foo-bar');
    }
    expect(linkAt('project/foo-bar')).toBeNull();
  });

  it('answers the old spelling\'s project URL and JSON with a 301 to the current one on Kiln\'s server', async () => {
    for (const [from, to] of [
      ['/project/Foo_Bar/', '/project/foo-bar/'],
      ['/project/Foo_Bar/json/', '/project/foo-bar/json/'],
      ['/project/foo.bar/json/index.json', '/project/foo-bar/json/index.json'],
      ['/pypi/simple/Foo_Bar/', '/pypi/simple/foo-bar/'],
      ['/packages/pypi/Foo_Bar/', '/packages/pypi/foo-bar/'],
    ]) {
      const r = await get(from!);
      expect(r.status, from).toBe(301);
      expect(r.headers.get('location'), from).toBe(to);
    }
    const followed = await fetch(`${farm.master.url}/project/Foo_Bar/json/`);
    expect(followed.status).toBe(200);
    expect(followed.url).toBe(`${farm.master.url}/project/foo-bar/json/`);
    expect(((await followed.json()) as ProjectJson).package).toBe('foo-bar');
    // The simple index names the project as it is spelled now.
    expect(await (await fetch(`${farm.master.url}/pypi/simple/Foo_Bar/`)).text()).toContain('<h1>Links for foo.bar</h1>');
    expect((await get('/project/foo-bar/')).status).toBe(200);
  });

  it('serves the old spelling from a plain static server too (the links are followed)', async () => {
    let web: StaticServer | null = null;
    try {
      web = await serveStatic(out);
      const page = await fetch(`${web.url}project/Foo_Bar/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('../../packages/pypi/foo-bar/index.html');
      const json = await fetch(`${web.url}project/Foo_Bar/json/index.json`);
      expect(((await json.json()) as ProjectJson).package).toBe('foo-bar');
    } finally {
      await web?.close();
    }
  });

  it('records spellings that only the changelog saw between two syncs, without changing the display name', async () => {
    model.rename('foo.bar', 'FOO-Bar');
    model.yank('FOO-Bar', '1.0');
    model.rename('FOO-Bar', 'foo.bar');
    model.unyank('foo.bar', '1.0');
    await sync();
    const pkg = (await getPackage(farm.db, 'pypi', 'foo-bar'))!;
    const rows = await listPackageNames(farm.db, pkg.id);
    expect(pkg.display_name).toBe('foo.bar');
    expect(rows[0]!.name).toBe('foo.bar');
    const yankTime = model.events.find((e) => e[0] === 'FOO-Bar')![2];
    expect(rows.find((r) => r.name === 'FOO-Bar')?.seen.getTime()).toBe(yankTime * 1000);
    expect(linkAt('project/FOO-Bar')).toBe('foo-bar');
    expect(pkg.meta).not.toHaveProperty('seen_names');
  });

  it('kiln add --alias links a spelling never seen upstream, and refuses one of another project', async () => {
    const args = ['add', '-e', 'pypi', '--alias', 'FOO_BAR', 'foo-bar', '--master', farm.master.url, '--admin-token', 'test-admin-token-0123456789'];
    const r = await kiln(args);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('added foo-bar: 2 versions selected');
    expect(r.out).toMatch(/aliases of foo-bar: .*FOO_BAR/);
    await farm.settle();
    expect(linkAt('project/FOO_BAR')).toBe('foo-bar');
    expect((await names()).display).toBe('foo.bar');
    const bad = await farm.admin('packages', 'POST', { ecosystem: 'pypi', name: 'foo-bar', aliases: ['foo-baz'] });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('is not a spelling of foo-bar');
    const two = await kiln(['add', '-e', 'pypi', '--alias', 'X', 'a', 'b', '--master', farm.master.url, '--admin-token', 'x']);
    expect(two.code).toBe(2);
    expect(two.err).toContain('--alias names one package');
  });

  it('withdraws the alias links with the package', async () => {
    const r = await farm.admin('packages?ecosystem=pypi&name=foo-bar', 'DELETE');
    expect(r.status).toBe(200);
    await farm.settle();
    for (const a of ['project/Foo_Bar', 'project/FOO_BAR', 'pypi/simple/foo.bar', 'packages/pypi/FOO-Bar']) expect(linkAt(a), a).toBeNull();
  });
});
