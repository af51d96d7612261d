/**
 * The real build path: the fixture addon is served by a local registry,
 * planned by the master and compiled, inspected, load-tested and packed by
 * the worker. No sandbox: BuildContext.run here is a plain spawn.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNpmMaster, createNpmWorker } from '../../src/ecosystems/npm/index.ts';
import type { Job, TargetDecl } from '../../src/ecosystems/types.ts';
import { makeAddonPackage, startLocalRegistry } from '../helpers/npm-fixture.ts';
import { makeBuildContext } from '../helpers/build-context.ts';


async function listTgz(file: string): Promise<string[]> {
  const names: string[] = [];
  await tar.list({ file, onReadEntry: (e) => void names.push(e.path) });
  return names.sort();
}

describe('npm worker builds the fixture addon', () => {
  let tmp: string;
  let reg: Awaited<ReturnType<typeof startLocalRegistry>>;
  let targets: TargetDecl[];
  const worker = createNpmWorker();
  let master: ReturnType<typeof createNpmMaster>;
  let buildNo = 0;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'kiln-npm-build-'));
    const entries = await Promise.all([
      makeAddonPackage(path.join(tmp, 'napi'), { name: '@kiln-test/napi-addon', version: '1.0.0', napi: true }),
      makeAddonPackage(path.join(tmp, 'node'), { name: 'kiln-node-addon', version: '1.0.0', nonAddonExtra: true }),
      makeAddonPackage(path.join(tmp, 'broken'), { name: 'kiln-broken-addon', version: '1.0.0', napi: true, brokenHeader: true }),
    ]);
    reg = await startLocalRegistry(entries.map((e) => ({ tgzPath: e.tgzPath })));
    master = createNpmMaster({ registry: reg.url, versions: 'all', packages: [] });
    targets = await worker.detectTargets();
  }, 60_000);

  afterAll(async () => {
    await reg?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  async function buildFor(name: string, runtime: 'node' | 'napi') {
    const pkg = (await master.fetchPackage(name, new AbortController().signal))!;
    const v = pkg.versions[0]!;
    const info = { packageName: pkg.name, displayName: pkg.displayName, packageMeta: pkg.meta, version: v.version, meta: v.meta };
    const target = targets.find((t) => t.facts.runtime === runtime)!;
    const other = targets.find((t) => t.facts.runtime !== runtime)!;
    expect(master.targetSkipReason(info, target)).toBeNull();
    expect(master.targetSkipReason(info, other)).not.toBeNull();
    const job: Job = {
      buildId: ++buildNo,
      ecosystem: 'npm',
      package: pkg.name,
      displayName: pkg.displayName,
      version: v.version,
      target: target.name,
      timeoutS: 120,
      spec: master.jobSpec(info, target),
    };
    const workDir = path.join(tmp, `build-${buildNo}`);
    await mkdir(workDir);
    const ctx = makeBuildContext(workDir);
    const outcome = await worker.build(job, ctx);
    for (const a of outcome.artifacts) expect(master.checkArtifactName(a.filename, info, target)).toBeNull();
    return { outcome, log: ctx.text(), target };
  }

  it('declares a node-ABI and an N-API target for this Node', () => {
    expect(targets.map((t) => t.name)).toEqual([
      `node-v${process.versions.modules}-${process.platform}-${process.arch}`,
      `napi-${process.platform}-${process.arch}`,
    ]);
  });

  it('builds an N-API addon for the napi target', async () => {
    const { outcome, log } = await buildFor('@kiln-test/napi-addon', 'napi');
    expect(outcome.failureReason, log).toBeNull();
    expect(outcome.status).toBe('passed');
    expect(log).toContain('==> npm install (production dependencies, scripts disabled)');
    expect(log).toMatch(/N-API \(\d+ napi_\* imports\)/);
    expect(log).toContain('loaded addon.node');
    expect(outcome.artifacts).toHaveLength(1);
    const a = outcome.artifacts[0]!;
    expect(a.filename).toBe(`napi-addon-v1.0.0-napi-v8-${process.platform}-${process.arch}.tar.gz`);
    expect(a.tags).toMatchObject({ kind: 'prebuild-install', runtime: 'napi', abi: 8, napi: 8, client: 'node-gyp' });
    expect(await listTgz(a.path)).toEqual(['build/', 'build/Release/', 'build/Release/addon.node']);
  }, 60_000);

  it('builds a node-ABI addon for the node target', async () => {
    const { outcome, log } = await buildFor('kiln-node-addon', 'node');
    expect(outcome.failureReason, log).toBeNull();
    expect(log).toContain('node-ABI (imports V8/Node symbols)');
    expect(outcome.artifacts.map((a) => a.filename)).toEqual([
      `kiln-node-addon-v1.0.0-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`,
    ]);
    // prebuild-install require()s every .node it unpacks, so a non-addon shared object must stay out.
    expect(log).toContain('build/Release/plain_ext.node: not a Node addon');
    expect(await listTgz(outcome.artifacts[0]!.path)).toEqual(['build/', 'build/Release/', 'build/Release/addon.node']);
  }, 60_000);

  it('fails a build with a missing header, quoting the compiler', async () => {
    const { outcome, log } = await buildFor('kiln-broken-addon', 'napi');
    expect(outcome.status).toBe('failed');
    expect(outcome.failureReason).toMatch(/^node-gyp failed \(exit \d+\): .*fatal error: kiln_missing_header\.h: No such file or directory/);
    expect(log).toContain('kiln_missing_header.h: No such file or directory');
    expect(outcome.artifacts).toEqual([]);
  }, 60_000);

  it('fails a build whose tarball does not match its integrity', async () => {
    const pkg = (await master.fetchPackage('kiln-node-addon', new AbortController().signal))!;
    const v = pkg.versions[0]!;
    const info = { packageName: pkg.name, displayName: pkg.displayName, packageMeta: pkg.meta, version: v.version, meta: { ...v.meta, integrity: `sha512-${Buffer.alloc(64).toString('base64')}` } };
    const target = targets.find((t) => t.facts.runtime === 'node')!;
    const workDir = path.join(tmp, 'bad-integrity');
    await mkdir(workDir);
    const job: Job = { buildId: 99, ecosystem: 'npm', package: pkg.name, displayName: pkg.name, version: v.version, target: target.name, timeoutS: 60, spec: master.jobSpec(info, target) };
    const outcome = await worker.build(job, makeBuildContext(workDir));
    expect(outcome.status).toBe('failed');
    expect(outcome.failureReason).toMatch(/^tarball integrity mismatch/);
  });
});
