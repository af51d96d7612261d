/**
 * npm end to end on loopback: a local registry serving tiny native addons
 * the test creates, a real master, and a real worker (sandboxed with
 * bubblewrap when installed) that compiles them with node-gyp.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNpmMaster, createNpmWorker } from '../../src/ecosystems/npm/index.ts';
import { startFarm, waitFor, type Farm } from '../helpers/farm.ts';
import { makeAddonPackage, startLocalRegistry } from '../helpers/npm-fixture.ts';

let dir: string;
let registry: Awaited<ReturnType<typeof startLocalRegistry>>;
let farm: Farm;

const admin = (path: string, method?: string, body?: unknown) => farm.admin(path, method, body);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-npm-farm-'));
  const mk = async (sub: string, o: Parameters<typeof makeAddonPackage>[1]) => {
    await mkdir(join(dir, sub), { recursive: true });
    return (await makeAddonPackage(join(dir, sub), o)).tgzPath;
  };
  const pureDir = join(dir, 'pure');
  await mkdir(pureDir, { recursive: true });
  await writeFile(join(pureDir, 'package.json'), JSON.stringify({ name: 'kiln-pure-js', version: '1.0.0', main: 'index.js' }));
  await writeFile(join(pureDir, 'index.js'), 'module.exports = 1;\n');
  const { execFileSync } = await import('node:child_process');
  execFileSync('npm', ['pack', '--pack-destination', pureDir], { cwd: pureDir, stdio: 'ignore' });
  registry = await startLocalRegistry([
    { tgzPath: await mk('node1', { name: 'kiln-node-addon', version: '1.0.0' }) },
    { tgzPath: await mk('node2', { name: 'kiln-node-addon', version: '2.0.0', engines: '>=99' }) },
    { tgzPath: await mk('napi', { name: '@kiln-test/napi-addon', version: '1.0.0', napi: true }) },
    { tgzPath: await mk('broken', { name: 'kiln-broken-addon', version: '1.0.0', brokenHeader: true }) },
    { tgzPath: join(pureDir, 'kiln-pure-js-1.0.0.tgz') },
  ]);
  farm = await startFarm([createNpmMaster({ registry: registry.url, versions: 'all', packages: [] })], { lease_s: 60 });
});

afterAll(async () => {
  await farm?.close();
  await registry?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('npm native addons built by a Kiln worker', () => {
  it('tracks, builds, verifies and publishes prebuilds', async () => {
    for (const name of ['kiln-node-addon', '@kiln-test/napi-addon', 'kiln-broken-addon', 'kiln-pure-js']) {
      const r = await admin('packages', 'POST', { ecosystem: 'npm', name });
      expect(r.status, name).toBe(200);
    }
    const w = farm.worker(createNpmWorker(), { sandbox: 'auto' });
    await waitFor(async () => {
      const rows = await farm.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM builds WHERE status <> 'running'`);
      return rows[0]!.n >= 3;
    }, 240_000, 'three npm builds');
    await farm.settle();
    await w.stop();
    const rows = await farm.db.query<{ name: string; version: string; target: string; status: string; failure_reason: string | null }>(
      `SELECT p.name, v.version, b.target, b.status, b.failure_reason FROM builds b JOIN versions v ON v.id = b.version_id
       JOIN packages p ON p.id = v.package_id ORDER BY p.name`,
    );
    expect(rows.map((r) => `${r.name} ${r.version} ${r.target} ${r.status}`)).toEqual([
      '@kiln-test/napi-addon 1.0.0 napi-linux-x64 passed',
      'kiln-broken-addon 1.0.0 node-v115-linux-x64 failed',
      'kiln-node-addon 1.0.0 node-v115-linux-x64 passed',
    ].map((s) => s.replace('node-v115', `node-v${process.versions.modules}`)));

    const out = farm.master.ctx.paths.outputPath;
    const abi = process.versions.modules;
    const file = join(out, 'npm', 'prebuilds', 'kiln-node-addon', 'v1.0.0', `kiln-node-addon-v1.0.0-node-v${abi}-linux-x64.tar.gz`);
    const entries: string[] = [];
    await tar.list({ file, onReadEntry: (e) => void entries.push(e.path) });
    expect(entries).toContain('build/Release/addon.node');
    const index = JSON.parse(readFileSync(join(out, 'npm', 'index', 'kiln-node-addon.json'), 'utf8')) as { versions: Record<string, Record<string, Array<{ filename: string; sha256: string }>>> };
    const listed = index.versions['1.0.0']![`node-v${abi}-linux-x64`]![0]!;
    expect(listed.sha256).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));

    // Scoped names: the file uses the unscoped name, the folder the full one.
    expect(readdirSync(join(out, 'npm', 'prebuilds', '@kiln-test', 'napi-addon', 'v1.0.0'))).toEqual(['napi-addon-v1.0.0-napi-v8-linux-x64.tar.gz']);

    const page = readFileSync(join(out, 'packages', 'npm', 'kiln-node-addon', 'index.html'), 'utf8');
    // Its install script is plain node-gyp: no client downloads binaries, and the page says so.
    expect(page).toContain('No download hook');
    expect(page).toContain('engines.node &quot;&gt;=99&quot; excludes Node');
    const pure = readFileSync(join(out, 'packages', 'npm', 'kiln-pure-js', 'index.html'), 'utf8');
    expect(pure).toContain('not a native addon');
  });

  it('shows the compiler error in the failed build log', async () => {
    const [b] = await farm.db.query<{ id: number; failure_reason: string }>(
      `SELECT b.id, b.failure_reason FROM builds b JOIN versions v ON v.id = b.version_id JOIN packages p ON p.id = v.package_id WHERE p.name = 'kiln-broken-addon'`,
    );
    expect(b!.failure_reason).toContain('kiln_missing_header.h');
    const log = await fetch(`${farm.master.url}/logs/0/${b!.id}.txt.gz`).then((r) => r.text());
    expect(log).toMatch(/kiln_missing_header\.h: No such file or directory/);
  });

  it('explains why a version is not built', async () => {
    const r = await admin('status?why=kiln-node-addon&ecosystem=npm');
    const lines = r.json.why as Array<{ version: string; target: string; state: string; reason: string }>;
    const v2 = lines.filter((l) => l.version === '2.0.0');
    expect(v2.every((l) => l.state === 'skipped')).toBe(true);
    expect(v2.map((l) => l.reason).join('\n')).toContain('excludes Node');
    const v1node = lines.find((l) => l.version === '1.0.0' && l.target.startsWith('node-'));
    expect(v1node?.state).toBe('built');
  });
});
