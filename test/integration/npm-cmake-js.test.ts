/**
 * The cmake-js build path, end to end: fixture addons that build with
 * cmake-js (CMakeLists.txt, `"install": "cmake-js compile"`) are served by a
 * local registry whose other packages (cmake-js itself and its
 * dependencies) come from the real npm registry, then tracked, planned,
 * built by a real worker (sandboxed when bubblewrap is there, compile step
 * offline) and published. Runs only with KILN_NETWORK_TESTS=1.
 *
 * cmake-js would download Node's headers from nodejs.org, which the offline
 * compile cannot reach: the node-ABI fixture (node.h, V8) proves the worker
 * points cmake-js at the local headers instead; the N-API fixture
 * (`binary.napi_versions`) builds against cmake-js's node-api-headers.
 * The first block (no network) checks the cmake-js command the worker picks.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNpmMaster, createNpmWorker, defaultNpmRegistry, planBuild, targetName, type NpmTargetFacts } from '../../src/ecosystems/npm/index.ts';
import { readVersionMeta } from '../../src/ecosystems/npm/manifest.ts';
import type { BuildPlan } from '../../src/ecosystems/npm/plan.ts';
import { buildEnv, compileStep } from '../../src/ecosystems/npm/worker-compile.ts';
import type { Toolchain } from '../../src/ecosystems/npm/worker-toolchain.ts';
import type { Json } from '../../src/ecosystems/types.ts';
import { startFarm, waitFor, type Farm } from '../helpers/farm.ts';
import { makeAddonPackage, startLocalRegistry } from '../helpers/npm-fixture.ts';

const enabled = process.env.KILN_NETWORK_TESTS === '1';
const CMAKE_JS = '^8.0.0';

interface BuildRow {
  id: number;
  status: string;
  failure_reason: string | null;
  target: string;
  version: string;
  meta: Json;
}

/** The two targets this machine's worker declares, as plan.ts sees them. */
function localTargets(): NpmTargetFacts[] {
  const base = {
    node: process.versions.node,
    abi: Number(process.versions.modules),
    napi: Number(process.versions.napi),
    platform: process.platform,
    arch: process.arch,
    libc: '' as const,
  };
  return [
    { ...base, runtime: 'node' },
    { ...base, runtime: 'napi' },
  ];
}

/** The files (not directories) in a tarball. */
async function tarFiles(file: string): Promise<string[]> {
  const names: string[] = [];
  await tar.list({ file, onReadEntry: (e) => void (e.type === 'File' && names.push(e.path)) });
  return names.sort();
}

describe('the cmake-js compile step', () => {
  let pkgDir: string;
  const tools = (over: Partial<Toolchain> = {}, toolOver: Partial<Toolchain['tools']> = {}): Toolchain => ({
    nodeBinary: '/usr/bin/node',
    nodeBinDir: '/usr/bin',
    nodeGypJs: null,
    nodeDir: '/usr',
    npmCli: null,
    tools: { make: '/usr/bin/make', ninja: null, python3: null, cc: '/usr/bin/cc', cxx: '/usr/bin/c++', strip: null, nm: null, cmake: '/usr/bin/cmake', cargo: null, ...toolOver },
    ...over,
  });
  const plan = (napi: number | null): BuildPlan => ({ runtime: napi ? 'napi' : 'node', client: 'cmake-js', why: 'test', napiBuildVersion: napi, expected: [] });
  const node = { version: '20.20.2', arch: 'x64' };

  beforeAll(async () => {
    pkgDir = await mkdtemp(join(tmpdir(), 'kiln-cmake-step-'));
    await mkdir(join(pkgDir, 'node_modules', 'cmake-js', 'bin'), { recursive: true });
    await writeFile(join(pkgDir, 'node_modules', 'cmake-js', 'bin', 'cmake-js'), '');
  });
  afterAll(() => rm(pkgDir, { recursive: true, force: true }));

  it('runs the package’s cmake-js for this worker’s Node, with the N-API version as a cmake variable', () => {
    const bin = join(pkgDir, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
    expect(compileStep(plan(null), null, null, tools(), pkgDir, node)).toEqual({
      kind: 'run',
      tool: 'cmake-js',
      cmd: '/usr/bin/node',
      args: [bin, 'rebuild', '--runtime=node', '--runtime-version=20.20.2', '--arch=x64'],
    });
    const napi = compileStep(plan(8), { napi_versions: [8] }, null, tools(), pkgDir, node);
    expect(napi.kind === 'run' && napi.args.slice(-1)).toEqual(['--CDnapi_build_version=8']);
  });

  it('hands cmake-js the local Node headers through npm_config_nodedir', () => {
    expect(buildEnv(tools(), '/w')).toMatchObject({ npm_config_nodedir: '/usr', CMAKE_BUILD_PARALLEL_LEVEL: expect.stringMatching(/^\d+$/) });
  });

  it('is untestable, not failed, when the worker lacks what cmake-js needs', () => {
    expect(compileStep(plan(null), null, null, tools({}, { cmake: null }), pkgDir, node)).toMatchObject({ kind: 'untestable', reason: expect.stringContaining('cmake') });
    expect(compileStep(plan(null), null, null, tools({}, { make: null, ninja: null }), pkgDir, node)).toMatchObject({ kind: 'untestable', reason: expect.stringContaining('ninja or make') });
    // Without headers cmake-js would try nodejs.org, which the offline compile cannot reach.
    expect(compileStep(plan(null), null, null, tools({ nodeDir: null }), pkgDir, node)).toMatchObject({ kind: 'untestable', reason: expect.stringContaining('Node headers') });
  });

  it('needs no Node headers for an N-API package when node-api-headers is installed', async () => {
    const napiOnly = tools({ nodeDir: null });
    expect(compileStep(plan(8), { napi_versions: [8] }, null, napiOnly, pkgDir, node).kind).toBe('untestable');
    await mkdir(join(pkgDir, 'node_modules', 'node-api-headers'), { recursive: true });
    await writeFile(join(pkgDir, 'node_modules', 'node-api-headers', 'package.json'), '{}');
    expect(compileStep(plan(8), { napi_versions: [8] }, null, napiOnly, pkgDir, node).kind).toBe('run');
    // cmake-js only skips Node's headers for packages that declare binary.napi_versions.
    expect(compileStep(plan(8), null, null, napiOnly, pkgDir, node).kind).toBe('untestable');
  });

  it('fails the package when it uses cmake-js without depending on it', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'kiln-cmake-step-'));
    try {
      expect(compileStep(plan(null), null, null, tools(), empty, node)).toEqual({ kind: 'failed', reason: 'the package uses cmake-js but does not depend on it' });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!enabled)('cmake-js addons built by a real farm', () => {
  let farm: Farm;
  let tmp: string;
  const cleanups: Array<() => Promise<void>> = [];
  let rows: BuildRow[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'kiln-cmake-js-'));
    cleanups.push(() => rm(tmp, { recursive: true, force: true }));
    await mkdir(join(tmp, 'napi'));
    await mkdir(join(tmp, 'node'));
    const entries = await Promise.all([
      makeAddonPackage(join(tmp, 'napi'), { name: 'kiln-cmake-napi', version: '1.0.0', napi: true, cmakeJs: CMAKE_JS }),
      makeAddonPackage(join(tmp, 'node'), { name: 'kiln-cmake-node', version: '1.0.0', cmakeJs: CMAKE_JS, nonAddonExtra: true }),
    ]);
    const registry = await startLocalRegistry(
      entries.map((e) => ({ tgzPath: e.tgzPath })),
      { upstream: await defaultNpmRegistry() },
    );
    cleanups.push(() => registry.close());
    farm = await startFarm([createNpmMaster({ registry: registry.url, versions: 'latest', packages: [] })], { lease_s: 60 });
    cleanups.push(() => farm.close());
    for (const name of ['kiln-cmake-napi', 'kiln-cmake-node']) {
      const r = await fetch(`${farm.master.url}/api/v1/admin/packages`, {
        method: 'POST',
        headers: { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' },
        body: JSON.stringify({ ecosystem: 'npm', name }),
      });
      expect(r.status, await r.clone().text()).toBe(200);
    }
    const started = Date.now();
    const w = farm.worker(createNpmWorker(), { sandbox: 'auto' });
    rows = await waitFor(async () => {
      const b = await farm.db.query<BuildRow & { name: string }>(
        `SELECT b.id, b.status, b.failure_reason, b.target, v.version, v.meta, p.name FROM builds b
           JOIN versions v ON v.id = b.version_id JOIN packages p ON p.id = v.package_id ORDER BY p.name`,
      );
      return b.length >= 2 && b.every((x) => x.status !== 'running') ? b : null;
    }, 300_000, 'the two cmake-js builds');
    console.log(`cmake-js fixtures: both builds finished ${((Date.now() - started) / 1000).toFixed(1)} s after the worker started`);
    await farm.settle();
    await w.stop();
  }, 360_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  const rowOf = (name: string) => {
    const r = (rows as Array<BuildRow & { name: string }>).filter((x) => x.name === name);
    expect(r, `exactly one build of ${name}`).toHaveLength(1);
    return r[0]!;
  };

  /** The one target plan.ts routes the stored version to, with its expected artifact file name. */
  function planned(name: string, meta: Json): { target: string; filename: string; napiBuildVersion: number | null } {
    const plans = localTargets().flatMap((t) => {
      const p = planBuild(name, '1.0.0', readVersionMeta(meta), t);
      return p.plan ? [{ target: targetName(t), filename: p.plan.expected[0]!.filename, napiBuildVersion: p.plan.napiBuildVersion, client: p.plan.client }] : [];
    });
    expect(plans, `${name} is planned for exactly one target`).toHaveLength(1);
    expect(plans[0]!.client).toBe('cmake-js');
    return plans[0]!;
  }

  async function buildLog(id: number): Promise<string> {
    return fetch(`${farm.master.url}/logs/0/${id}.txt.gz`).then((r) => r.text());
  }

  async function publishedEntries(name: string, filename: string): Promise<string[]> {
    const dir = join(farm.master.ctx.paths.outputPath, 'npm', 'prebuilds', name, 'v1.0.0');
    expect(readdirSync(dir)).toEqual([filename]);
    return tarFiles(join(dir, filename));
  }

  it('builds the N-API cmake-js addon for the napi target, against node-api-headers', async () => {
    const row = rowOf('kiln-cmake-napi');
    const plan = planned('kiln-cmake-napi', row.meta);
    expect(plan.target).toBe(`napi-${process.platform}-${process.arch}`);
    expect(plan.napiBuildVersion).toBe(8);
    expect({ status: row.status, reason: row.failure_reason, target: row.target }).toEqual({ status: 'passed', reason: null, target: plan.target });
    expect(plan.filename).toBe(`kiln-cmake-napi-v1.0.0-napi-v8-${process.platform}-${process.arch}.tar.gz`);
    expect(await publishedEntries('kiln-cmake-napi', plan.filename)).toEqual(['build/Release/addon.node']);
    const log = await buildLog(row.id);
    expect(log).toContain('==> compile with cmake-js (N-API 8)');
    expect(log).toMatch(/-Dnapi_build_version=8/);
    expect(log).toMatch(/-DCMAKE_JS_INC=\S*node-api-headers/);
    expect(log).toMatch(/build\/Release\/addon\.node: N-API \(\d+ napi_\* imports\)/);
    expect(log).toContain('loaded addon.node');
    expect(log).not.toMatch(/Downloading distribution files|nodejs\.org/);
  });

  it('builds the node-ABI cmake-js addon for the node target, against the local Node headers', async () => {
    const row = rowOf('kiln-cmake-node');
    const plan = planned('kiln-cmake-node', row.meta);
    expect(plan.target).toBe(`node-v${process.versions.modules}-${process.platform}-${process.arch}`);
    expect(plan.napiBuildVersion).toBeNull();
    expect({ status: row.status, reason: row.failure_reason, target: row.target }).toEqual({ status: 'passed', reason: null, target: plan.target });
    expect(plan.filename).toBe(`kiln-cmake-node-v1.0.0-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`);
    // plain_ext.node imports neither N-API nor V8, so it is not packed.
    expect(await publishedEntries('kiln-cmake-node', plan.filename)).toEqual(['build/Release/addon.node']);
    const log = await buildLog(row.id);
    expect(log).toContain('==> compile with cmake-js\n');
    expect(log).toMatch(/-DCMAKE_JS_INC=\S*include\/node/);
    expect(log).toMatch(/-DNODE_RUNTIMEVERSION=/);
    expect(log).toMatch(/build\/Release\/addon\.node: node-ABI \(imports V8\/Node symbols\)/);
    expect(log).toContain('loaded addon.node');
    expect(log).not.toMatch(/Downloading distribution files|nodejs\.org/);
  });
});
