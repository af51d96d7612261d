import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNpmMaster } from '../../src/ecosystems/npm/index.ts';
import { defaultNpmRegistry, normalizeRegistry, packumentUrl } from '../../src/ecosystems/npm/registry.ts';
import type { SourcePackage, SourceStore } from '../../src/ecosystems/types.ts';
import { makeAddonPackage, startLocalRegistry } from '../helpers/npm-fixture.ts';

const execFileP = promisify(execFile);
const signal = new AbortController().signal;

async function packPlain(dir: string, manifest: Record<string, unknown>, withBindingGyp: boolean): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'package.json'), JSON.stringify(manifest));
  await writeFile(path.join(dir, 'index.js'), 'module.exports = 1;\n');
  if (withBindingGyp) await writeFile(path.join(dir, 'binding.gyp'), '{"targets":[]}');
  const { stdout } = await execFileP('npm', ['pack', '--json', '--pack-destination', dir], { cwd: dir });
  return path.join(dir, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
}

describe('npm master against a local registry', () => {
  let tmp: string;
  let reg: Awaited<ReturnType<typeof startLocalRegistry>>;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'kiln-npm-master-'));
    const a1 = await makeAddonPackage(path.join(tmp, 'a1'), { name: '@kiln-test/addon', version: '1.0.0', napi: true });
    const a2 = await makeAddonPackage(path.join(tmp, 'a2'), { name: '@kiln-test/addon', version: '2.0.0', napi: true, engines: '>=99' });
    // No metadata signal: the verdict needs a look inside the tarball.
    const hidden = await packPlain(path.join(tmp, 'hidden'), { name: 'hidden-gyp', version: '1.0.0' }, true);
    const plain = await packPlain(path.join(tmp, 'plain'), { name: 'plain-js', version: '1.0.0' }, false);
    const dep = await packPlain(path.join(tmp, 'dep'), { name: 'plain-js', version: '1.1.0', deprecated: 'use 2' }, false);
    reg = await startLocalRegistry([
      { tgzPath: a1.tgzPath },
      { tgzPath: a2.tgzPath },
      { tgzPath: hidden },
      { tgzPath: plain },
      { tgzPath: dep, manifest: { deprecated: 'use plain-js 2' } },
    ]);
  }, 60_000);

  afterAll(async () => {
    await reg?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('finds npm’s configured registry, ending with one slash', async () => {
    expect(normalizeRegistry('https://r.test/npm//')).toBe('https://r.test/npm/');
    expect(await defaultNpmRegistry()).toMatch(/^https?:\/\/.*[^/]\/$/);
  });

  it('encodes scoped names as npm does', () => {
    expect(packumentUrl('https://r.test/npm', '@scope/name')).toBe('https://r.test/npm/@scope%2fname');
  });

  it('fetches a scoped package with meta for building', async () => {
    const master = createNpmMaster({ registry: reg.url, versions: 'all', packages: [] });
    const pkg = (await master.fetchPackage('@kiln-test/addon', signal))!;
    expect(reg.requests).toContain('/@kiln-test/addon');
    expect(pkg.name).toBe('@kiln-test/addon');
    expect(pkg.summary).toBe('Kiln test addon');
    expect(pkg.versions.map((v) => v.version)).toEqual(['2.0.0', '1.0.0']);
    const v1 = pkg.versions[1]!;
    expect(v1.skip).toBeNull();
    expect(v1.released.toISOString()).toBe('2024-01-02T00:00:00.000Z');
    expect(v1.meta).toMatchObject({
      tarball: `${reg.url}@kiln-test/addon/-/addon-1.0.0.tgz`,
      binary: { napi_versions: [8] },
      scripts: { install: 'node-gyp rebuild' },
      gypfile: true,
      native: { verdict: 'native', signals: ['install script runs node-gyp'] },
    });
    expect(String(v1.meta.integrity)).toMatch(/^sha512-/);
    expect(pkg.versions[0]!.meta.enginesNode).toBe('>=99');
  });

  it('"latest" with Node versions tracks what npm would install there', async () => {
    const master = createNpmMaster({ registry: reg.url, versions: 'latest', packages: [] });
    const skips = async () => (await master.fetchPackage('@kiln-test/addon', signal))!.versions.map((v) => [v.version, v.skip]);
    expect(await skips()).toEqual([
      ['2.0.0', null],
      ['1.0.0', 'not selected by the versions policy "latest"'],
    ]);
    master.setNodeVersions(['20.20.2']);
    expect(await skips()).toEqual([
      ['2.0.0', null],
      ['1.0.0', null],
    ]);
  });

  it('looks inside tarballs when metadata says nothing, once per version', async () => {
    const master = createNpmMaster({ registry: reg.url, versions: 'all', packages: [] });
    const hidden = (await master.fetchPackage('hidden-gyp', signal))!;
    expect(hidden.versions[0]!.meta.native).toEqual({ verdict: 'native', signals: ['binding.gyp in the tarball (npm runs node-gyp rebuild)'] });
    const plain = (await master.fetchPackage('plain-js', signal))!;
    expect(plain.versions.map((v) => v.skip)).toEqual([
      'not a native addon (no install script, gypfile, binary field or addon dependency, and no binding.gyp in the tarball)',
      'not a native addon (no install script, gypfile, binary field or addon dependency, and no binding.gyp in the tarball)',
    ]);
    expect(plain.versions[0]!.meta.deprecated).toBe('use plain-js 2');
    const before = reg.requests.filter((r) => r.endsWith('.tgz')).length;
    await master.fetchPackage('plain-js', signal);
    expect(reg.requests.filter((r) => r.endsWith('.tgz')).length).toBe(before);
  });

  it('returns null for a missing package', async () => {
    const master = createNpmMaster({ registry: reg.url, versions: 'all', packages: [] });
    expect(await master.fetchPackage('no-such-package', signal)).toBeNull();
  });

  it('turns an unpublished package into zero versions', async () => {
    const fakeFetch = (async () =>
      new Response(JSON.stringify({ name: 'gone', time: { created: '2020-01-01T00:00:00Z', unpublished: { time: '2021-01-01T00:00:00Z', versions: ['1.0.0'] } } }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      })) as typeof fetch;
    const master = createNpmMaster({ registry: 'https://r.test/', versions: 'all', packages: [], fetch: fakeFetch });
    const pkg = (await master.fetchPackage('gone', signal))!;
    expect(pkg.versions).toEqual([]);
  });

  it('syncs every tracked package and records failures without stopping', async () => {
    const master = createNpmMaster({ registry: reg.url, versions: 'all', packages: [] });
    const applied: Array<[SourcePackage, string]> = [];
    const errors: Array<[string, string]> = [];
    const store: SourceStore = {
      trackedPackages: async () => ['@kiln-test/addon', 'no-such-package', 'plain-js'],
      applyPackage: async (p, why) => void applied.push([p, why]),
      recordSyncError: async (n, m) => void errors.push([n, m]),
      removePackage: async () => undefined,
      getState: async (_k, fallback) => fallback,
      setState: async () => undefined,
    };
    await master.sync(store, pino({ level: 'silent' }), signal);
    expect(applied.map(([p, why]) => [p.name, why]).sort()).toEqual([
      ['@kiln-test/addon', 'unpublished from the registry'],
      ['plain-js', 'unpublished from the registry'],
    ]);
    expect(errors).toEqual([['no-such-package', `not found in ${reg.url}`]]);
  });
});
