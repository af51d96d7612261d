/**
 * The network tests: they reach the real npm registry, so they run only
 * with KILN_NETWORK_TESTS=1 (CI sets it; the registry is reachable there).
 * 1. A real package from the real registry, built by a Kiln worker.
 * 2. A real `npm install` of a prebuild-install addon that downloads Kiln's
 *    binary instead of compiling.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { createNpmMaster, createNpmWorker, defaultNpmRegistry } from '../../src/ecosystems/npm/index.ts';
import { startFarm, waitFor, type Farm } from '../helpers/farm.ts';
import { makeAddonPackage, startLocalRegistry } from '../helpers/npm-fixture.ts';

const run = promisify(execFile);
const enabled = process.env.KILN_NETWORK_TESTS === '1';
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function addAndBuild(farm: Farm, name: string): Promise<Array<{ status: string; failure_reason: string | null; target: string; version: string }>> {
  const r = await fetch(`${farm.master.url}/api/v1/admin/packages`, {
    method: 'POST',
    headers: { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' },
    body: JSON.stringify({ ecosystem: 'npm', name }),
  });
  expect(r.status, await r.clone().text()).toBe(200);
  const w = farm.worker(createNpmWorker(), { sandbox: 'auto' });
  const rows = await waitFor(async () => {
    const b = await farm.db.query<{ status: string; failure_reason: string | null; target: string; version: string }>(
      `SELECT b.status, b.failure_reason, b.target, v.version FROM builds b JOIN versions v ON v.id = b.version_id JOIN packages p ON p.id = v.package_id WHERE p.name = $1`,
      [name],
    );
    return b.length > 0 && b.every((x) => x.status !== 'running') ? b : null;
  }, 300_000, `${name} to build`);
  await farm.settle();
  await w.stop();
  return rows;
}

describe.skipIf(!enabled)('against the real npm registry', () => {
  it('builds the latest bufferutil from the real registry', async () => {
    const farm = await startFarm([createNpmMaster({ registry: await defaultNpmRegistry(), versions: 'latest', packages: [] })], { lease_s: 60 });
    cleanups.push(() => farm.close());
    const rows = await addAndBuild(farm, 'bufferutil');
    expect(rows.map((r) => r.status)).toEqual(['passed']);
    const dir = join(farm.master.ctx.paths.outputPath, 'npm', 'prebuilds', 'bufferutil', `v${rows[0]!.version}`);
    const [file] = readdirSync(dir);
    const entries: string[] = [];
    await tar.list({ file: join(dir, file!), onReadEntry: (e) => void entries.push(e.path) });
    expect(entries.some((e) => /^build\/Release\/.+\.node$/.test(e))).toBe(true);
  });

  it('a real npm install of bcrypt 5 (node-pre-gyp) downloads Kiln’s binary through the mirror line on its page', async () => {
    const farm = await startFarm([createNpmMaster({ registry: await defaultNpmRegistry(), versions: '5.1.1', packages: [] })], { lease_s: 60 });
    cleanups.push(() => farm.close());
    const rows = await addAndBuild(farm, 'bcrypt');
    expect(rows.map((r) => `${r.version} ${r.status}`)).toEqual(['5.1.1 passed']);
    const page = readFileSync(join(farm.master.ctx.paths.outputPath, 'packages', 'npm', 'bcrypt', 'index.html'), 'utf8');
    // Take the exact line the page tells users to run.
    const line = /(?:^|<pre>)export (npm_config_bcrypt_lib_binary_host_mirror)=(\S+)$/m.exec(page);
    expect(line, 'the page gives the node-pre-gyp mirror line').not.toBeNull();
    const dir = await mkdtemp(join(tmpdir(), 'kiln-bcrypt-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, allowScripts: { bcrypt: true } }));
    const { stdout, stderr } = await run('npm', ['install', 'bcrypt@5.1.1', '--foreground-scripts', '--loglevel=info', '--no-audit', '--no-fund'], {
      cwd: dir,
      env: { ...process.env, [line![1]!]: line![2]!, npm_config_cache: join(dir, 'cache') },
      maxBuffer: 32 * 1024 * 1024,
    });
    const log = stdout + stderr;
    expect(log).toContain(line![2]!.replace(/\/$/, ''));
    expect(log).toContain('node-pre-gyp info ok');
    // node-gyp's own lines start with "gyp"; node-pre-gyp's start with "node-pre-gyp".
    expect(log).not.toMatch(/^gyp (info|ERR)|CXX\(target\)|g\+\+ /m);
    const { stdout: hashed } = await run(process.execPath, ['-e', "const b=require('bcrypt');const h=b.hashSync('kiln',4);console.log(b.compareSync('kiln',h))"], { cwd: dir });
    expect(hashed.trim()).toBe('true');
  });

  it('a real npm install of a prebuild-install addon downloads Kiln’s binary instead of compiling', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-install-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await mkdir(join(dir, 'pkg'));
    const { tgzPath } = await makeAddonPackage(join(dir, 'pkg'), {
      name: 'kiln-prebuilt-addon',
      version: '1.0.0',
      extra: { scripts: { install: 'prebuild-install || node-gyp rebuild' }, dependencies: { 'prebuild-install': '^7.1.3' } },
    });
    const registry = await startLocalRegistry([{ tgzPath }], { upstream: await defaultNpmRegistry() });
    cleanups.push(() => registry.close());
    const farm = await startFarm([createNpmMaster({ registry: registry.url, versions: 'latest', packages: [] })], { lease_s: 60 });
    cleanups.push(() => farm.close());
    const rows = await addAndBuild(farm, 'kiln-prebuilt-addon');
    expect(rows.map((r) => r.status)).toEqual(['passed']);
    const page = readFileSync(join(farm.master.ctx.paths.outputPath, 'packages', 'npm', 'kiln-prebuilt-addon', 'index.html'), 'utf8');
    const host = `${farm.master.url}/npm/prebuilds/kiln-prebuilt-addon`;
    // The line must stand alone on its own line, ready to paste.
    expect(page).toMatch(new RegExp(`(?:^|<pre>)export npm_config_kiln_prebuilt_addon_binary_host=${host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));

    // A clean project, as a user would have it, with the package's install script approved (npm 11).
    const app = join(dir, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, allowScripts: { 'kiln-prebuilt-addon': true } }));
    const { stdout, stderr } = await run('npm', ['install', 'kiln-prebuilt-addon', `--registry=${registry.url}`, '--foreground-scripts', '--loglevel=info', '--no-audit', '--no-fund'], {
      cwd: app,
      env: { ...process.env, npm_config_kiln_prebuilt_addon_binary_host: host, npm_config_cache: join(dir, 'cache') },
      maxBuffer: 32 * 1024 * 1024,
    });
    const log = stdout + stderr;
    // The install script is echoed ("prebuild-install || node-gyp rebuild"); what must be absent is gyp running.
    expect(log).not.toMatch(/^gyp (info|ERR)|CXX\(target\)|g\+\+ |cc1/m);
    expect(log).toContain("kiln-prebuilt-addon@1.0.0 install");
    const installed = join(app, 'node_modules', 'kiln-prebuilt-addon', 'build', 'Release', 'addon.node');
    expect(existsSync(installed)).toBe(true);
    const { stdout: hello } = await run(process.execPath, ['-e', `console.log(require(${JSON.stringify(installed)}).hello())`]);
    expect(hello.trim()).toBe('hello from v8');
    // The bytes are Kiln's: unpack our artifact and compare.
    const [art] = await farm.db.query<{ sha256: string }>('SELECT sha256 FROM artifacts');
    const unpack = join(dir, 'unpacked');
    await mkdir(unpack);
    const published = readdirSync(join(farm.master.ctx.paths.outputPath, 'npm', 'prebuilds', 'kiln-prebuilt-addon', 'v1.0.0'))[0]!;
    const published_path = join(farm.master.ctx.paths.outputPath, 'npm', 'prebuilds', 'kiln-prebuilt-addon', 'v1.0.0', published);
    expect(createHash('sha256').update(readFileSync(published_path)).digest('hex')).toBe(art!.sha256);
    await tar.extract({ file: published_path, cwd: unpack });
    expect(readFileSync(installed).equals(readFileSync(join(unpack, 'build', 'Release', 'addon.node')))).toBe(true);
    expect(registry.requests.some((r) => r.includes('kiln-prebuilt-addon'))).toBe(true);
  });
});
