import { describe, expect, it } from 'vitest';
import { createNpmMaster } from '../../src/ecosystems/npm/index.ts';
import type { NpmVersionMeta } from '../../src/ecosystems/npm/manifest.ts';
import { planBuild, requestedRuntime } from '../../src/ecosystems/npm/plan.ts';
import { targetsFor, type NpmTargetFacts } from '../../src/ecosystems/npm/targets.ts';
import type { Json, TargetInfo, VersionInfo } from '../../src/ecosystems/types.ts';

const node20 = { node: '20.20.2', abi: 115, napi: 9, platform: 'linux', arch: 'x64', libc: '' as const };
const [nodeT, napiT] = targetsFor(node20).map((t) => ({ name: t.name, facts: t.facts })) as [TargetInfo, TargetInfo];
const facts = (t: TargetInfo) => t.facts as unknown as NpmTargetFacts;

const meta = (extra: Partial<NpmVersionMeta>): NpmVersionMeta => ({
  tarball: 'https://registry.npmjs.org/x/-/x-1.0.0.tgz',
  integrity: 'sha512-AAAA',
  enginesNode: null,
  native: { verdict: 'native', signals: ['install script runs node-gyp'] },
  binary: null,
  scripts: { install: 'node-gyp rebuild' },
  addonDeps: [],
  gypfile: null,
  configRuntime: null,
  main: null,
  ...extra,
});

const info = (name: string, version: string, m: NpmVersionMeta): VersionInfo => ({
  packageName: name,
  displayName: name,
  packageMeta: {},
  version,
  meta: m as unknown as Json,
});

const betterSqlite = meta({ scripts: { install: 'prebuild-install || node-gyp rebuild --release' }, addonDeps: ['bindings', 'prebuild-install'] });
const sqlite3 = meta({ scripts: { install: 'prebuild-install -r napi || node-gyp rebuild' }, binary: { napi_versions: [3, 6] }, addonDeps: ['node-addon-api', 'prebuild-install'] });
const bcrypt5 = meta({
  scripts: { install: 'node-pre-gyp install --fallback-to-build' },
  main: './bcrypt',
  addonDeps: ['@mapbox/node-pre-gyp', 'node-addon-api'],
  binary: {
    module_name: 'bcrypt_lib',
    module_path: './lib/binding/napi-v{napi_build_version}',
    package_name: '{module_name}-v{version}-napi-v{napi_build_version}-{platform}-{arch}-{libc}.tar.gz',
    host: 'https://github.com',
    remote_path: 'kelektiv/node.bcrypt.js/releases/download/v{version}',
    napi_versions: [3],
  },
});

describe('routing between the node-ABI and N-API targets', () => {
  it('sends plain prebuild-install packages to the node-ABI target', () => {
    expect(requestedRuntime(betterSqlite)).toMatchObject({ runtime: 'node', client: 'prebuild-install' });
    expect(planBuild('better-sqlite3', '12.4.1', betterSqlite, facts(napiT)).skip).toBe(
      'node-ABI addon (prebuild-install requests node-ABI binaries): built for node-v115-linux-x64 instead',
    );
    const p = planBuild('better-sqlite3', '12.4.1', betterSqlite, facts(nodeT)).plan!;
    expect(p.expected.map((e) => e.filename)).toEqual(['better-sqlite3-v12.4.1-node-v115-linux-x64.tar.gz']);
  });

  it('sends prebuild-install -r napi packages to the N-API target with the best napi version', () => {
    expect(planBuild('sqlite3', '5.1.7', sqlite3, facts(nodeT)).skip).toMatch(/^N-API addon \(prebuild-install runs with -r napi\): built for napi-linux-x64 instead$/);
    const p = planBuild('sqlite3', '5.1.7', sqlite3, facts(napiT)).plan!;
    expect(p.napiBuildVersion).toBe(6);
    expect(p.expected.map((e) => e.filename)).toEqual(['sqlite3-v5.1.7-napi-v6-linux-x64.tar.gz']);
  });

  it('a napi_versions field alone does not make prebuild-install ask for napi', () => {
    const m = { ...sqlite3, scripts: { install: 'prebuild-install || node-gyp rebuild' } };
    expect(requestedRuntime(m).runtime).toBe('node');
    expect(requestedRuntime({ ...m, configRuntime: 'napi' }).runtime).toBe('napi');
  });

  it('builds node-pre-gyp N-API packages once, producing both archive kinds', () => {
    const p = planBuild('bcrypt', '5.1.1', bcrypt5, facts(napiT)).plan!;
    expect(p).toMatchObject({ client: 'node-pre-gyp', runtime: 'napi', napiBuildVersion: 3 });
    expect(p.expected.map((e) => [e.kind, e.filename])).toEqual([
      ['prebuild-install', 'bcrypt-v5.1.1-napi-v3-linux-x64.tar.gz'],
      ['node-pre-gyp', 'kelektiv-node.bcrypt.js-releases-download-v5.1.1-bcrypt_lib-v5.1.1-napi-v3-linux-x64-glibc.tar.gz'],
    ]);
    expect(p.expected[1]!.nodePreGyp).toMatchObject({ tarDir: 'napi-v3', mirrorPath: 'kelektiv/node.bcrypt.js/releases/download/v5.1.1/bcrypt_lib-v5.1.1-napi-v3-linux-x64-glibc.tar.gz' });
    expect(planBuild('bcrypt', '5.1.1', bcrypt5, facts(nodeT)).skip).toMatch(/^N-API addon \(binary.napi_versions is \[3\]\)/);
  });

  it('routes clients without a download hook by their sources', () => {
    expect(requestedRuntime(meta({ scripts: { install: 'node-gyp-build' }, addonDeps: ['node-addon-api', 'node-gyp-build'] }))).toMatchObject({ runtime: 'napi', client: 'node-gyp-build' });
    expect(requestedRuntime(meta({ scripts: { install: 'node-gyp-build' }, addonDeps: ['nan', 'node-addon-api'] })).runtime).toBe('node');
    expect(requestedRuntime(meta({})).runtime).toBe('node');
  });

  it('labels napi builds without napi_versions with the target’s N-API version', () => {
    const m = meta({ scripts: { install: 'node-gyp-build' }, addonDeps: ['node-addon-api', 'node-gyp-build'] });
    expect(planBuild('bufferutil', '4.0.9', m, facts(napiT)).plan!.expected[0]!.filename).toBe('bufferutil-v4.0.9-napi-v9-linux-x64.tar.gz');
  });
});

describe('target skip reasons', () => {
  it('skips versions whose engines exclude the target’s Node', () => {
    const m = { ...betterSqlite, enginesNode: '20.x || 22.x || 23.x || 24.x || >=25' };
    expect(planBuild('better-sqlite3', '12.4.1', m, facts(nodeT)).skip).toBeNull();
    const m13 = { ...betterSqlite, enginesNode: '>=22' };
    expect(planBuild('better-sqlite3', '13.0.0', m13, facts(nodeT)).skip).toBe('engines.node ">=22" excludes Node 20.20.2');
  });

  it('skips napi builds when every declared N-API version is too new', () => {
    const m = { ...sqlite3, binary: { napi_versions: [10] } };
    expect(planBuild('sqlite3', '9.0.0', m, facts(napiT)).skip).toBe('binary.napi_versions [10] are all above N-API 9 of Node 20.20.2');
  });
});

describe('master eligibility, job specs and artifact names', () => {
  const master = createNpmMaster({ registry: 'https://registry.npmjs.org', versions: 'latest', packages: [] });

  it('answers through the MasterEcosystem contract', () => {
    const v = info('sqlite3', '5.1.7', sqlite3);
    expect(master.targetSkipReason(v, napiT)).toBeNull();
    expect(master.targetSkipReason(v, nodeT)).toMatch(/^N-API addon/);
    const spec = master.jobSpec(v, napiT) as { plan: { napiBuildVersion: number } };
    expect(spec).toMatchObject({ registry: 'https://registry.npmjs.org/', name: 'sqlite3', version: '5.1.7', integrity: 'sha512-AAAA' });
    expect(spec.plan.napiBuildVersion).toBe(6);
    expect(() => master.jobSpec(v, nodeT)).toThrow(/must not be built/);
  });

  it('accepts exactly the expected artifact names', () => {
    const v = info('bcrypt', '5.1.1', bcrypt5);
    expect(master.checkArtifactName('bcrypt-v5.1.1-napi-v3-linux-x64.tar.gz', v, napiT)).toBeNull();
    expect(master.checkArtifactName('kelektiv-node.bcrypt.js-releases-download-v5.1.1-bcrypt_lib-v5.1.1-napi-v3-linux-x64-glibc.tar.gz', v, napiT)).toBeNull();
    expect(master.checkArtifactName('bcrypt-v5.1.1-napi-v6-linux-x64.tar.gz', v, napiT)).toMatch(/^unexpected artifact "bcrypt-v5.1.1-napi-v6-linux-x64.tar.gz"; this build produces /);
    expect(master.checkArtifactName('bcrypt-v5.1.1-napi-v3-linux-x64.tar.gz', v, nodeT)).toMatch(/is not built for node-v115-linux-x64/);
  });

  it('rejects bad version policies', () => {
    expect(() => createNpmMaster({ registry: 'https://r/', versions: 'newest please', packages: [] })).toThrow(/not "latest", "all" or a semver range/);
  });
});
