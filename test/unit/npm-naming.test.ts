import { describe, expect, it } from 'vitest';
import {
  bestNapiVersion,
  evalTemplate,
  nodePreGypLayout,
  nodePreGypMirrorEnvVar,
  nodePreGypMirrorPath,
  prebuildHostEnvVar,
  prebuildInstallFilename,
  prebuildInstallPath,
} from '../../src/ecosystems/npm/naming.ts';
import { targetName, targetsFor } from '../../src/ecosystems/npm/targets.ts';

const glibc = { abi: 115, napi: 9, platform: 'linux', arch: 'x64', libc: '' as const };

describe('prebuild-install names', () => {
  it('names node-ABI prebuilds', () => {
    expect(
      prebuildInstallPath({ name: 'better-sqlite3', version: '12.4.1', runtime: 'node', abi: 115, platform: 'linux', libc: '', arch: 'x64' }),
    ).toBe('v12.4.1/better-sqlite3-v12.4.1-node-v115-linux-x64.tar.gz');
  });

  it('puts libc right after the platform (musl)', () => {
    expect(
      prebuildInstallFilename({ name: 'sqlite3', version: '5.1.7', runtime: 'napi', abi: 6, platform: 'linux', libc: 'musl', arch: 'arm64' }),
    ).toBe('sqlite3-v5.1.7-napi-v6-linuxmusl-arm64.tar.gz');
  });

  it('drops the scope from file names, like prebuild-install 7', () => {
    const base = { version: '1.0.0', runtime: 'node' as const, abi: 115, platform: 'linux', libc: '', arch: 'x64' };
    expect(prebuildInstallPath({ ...base, name: '@scope/addon' })).toBe('v1.0.0/addon-v1.0.0-node-v115-linux-x64.tar.gz');
    expect(prebuildInstallPath({ ...base, name: '@my-org/addon' })).toBe('v1.0.0/addon-v1.0.0-node-v115-linux-x64.tar.gz');
    expect(prebuildInstallPath({ ...base, name: '@a.b~c_d/addon' })).toBe('v1.0.0/addon-v1.0.0-node-v115-linux-x64.tar.gz');
    expect(prebuildInstallFilename({ ...base, name: '@my-org/addon' })).toBe('addon-v1.0.0-node-v115-linux-x64.tar.gz');
  });

  it('picks the best N-API version: highest declared not above the Node’s', () => {
    expect(bestNapiVersion([3, 6, 10], 9)).toBe(6);
    expect(bestNapiVersion([3], 9)).toBe(3);
    expect(bestNapiVersion([10], 9)).toBeNull();
    expect(bestNapiVersion(undefined, 9)).toBeNull();
  });

  it('spells the host variables as the clients read them', () => {
    expect(prebuildHostEnvVar('better-sqlite3')).toBe('npm_config_better_sqlite3_binary_host');
    expect(prebuildHostEnvVar('@scope/my.addon')).toBe('npm_config__scope_my_addon_binary_host');
    expect(nodePreGypMirrorEnvVar('bcrypt_lib')).toBe('npm_config_bcrypt_lib_binary_host_mirror');
    expect(nodePreGypMirrorEnvVar('a-b-c')).toBe('npm_config_a_b-c_binary_host_mirror');
  });
});

describe('node-pre-gyp templates', () => {
  const bcrypt = {
    name: 'bcrypt',
    version: '5.1.1',
    main: './bcrypt',
    binary: {
      module_name: 'bcrypt_lib',
      module_path: './lib/binding/napi-v{napi_build_version}',
      package_name: '{module_name}-v{version}-napi-v{napi_build_version}-{platform}-{arch}-{libc}.tar.gz',
      host: 'https://github.com',
      remote_path: 'kelektiv/node.bcrypt.js/releases/download/v{version}',
      napi_versions: [3],
    },
  };

  it('evaluates bcrypt 5’s binary field', () => {
    const l = nodePreGypLayout(bcrypt, glibc, 3)!;
    expect(l).toEqual({
      moduleName: 'bcrypt_lib',
      modulePath: './lib/binding/napi-v3',
      tarDir: 'napi-v3',
      remotePath: 'kelektiv/node.bcrypt.js/releases/download/v5.1.1/',
      packageName: 'bcrypt_lib-v5.1.1-napi-v3-linux-x64-glibc.tar.gz',
    });
    expect(nodePreGypMirrorPath(l)).toBe('kelektiv/node.bcrypt.js/releases/download/v5.1.1/bcrypt_lib-v5.1.1-napi-v3-linux-x64-glibc.tar.gz');
    expect(nodePreGypLayout(bcrypt, { ...glibc, libc: 'musl' }, 3)!.packageName).toBe('bcrypt_lib-v5.1.1-napi-v3-linux-x64-musl.tar.gz');
  });

  it('uses the default package_name and node_abi / node_napi_label', () => {
    const l = nodePreGypLayout({ name: 'x', version: '2.0.0-beta.1', main: null, binary: { module_name: 'x', module_path: 'lib/{node_abi}-{platform}' } }, glibc, null)!;
    expect(l.packageName).toBe('x-v2.0.0-beta.1-node-v115-linux-x64.tar.gz');
    expect(l.modulePath).toBe('lib/node-v115-linux');
    expect(l.remotePath).toBe('');
    expect(evalTemplate('{node_napi_label}/{prerelease}/{major}', { node_napi_label: 'napi-v6', prerelease: 'beta.1', major: 2 })).toBe('napi-v6/beta.1/2');
  });

  it('resolves remote_path like url.resolve, refusing escapes', () => {
    expect(nodePreGypMirrorPath({ remotePath: './v1/', packageName: 'a.tar.gz' })).toBe('v1/a.tar.gz');
    expect(nodePreGypMirrorPath({ remotePath: '', packageName: 'a+b.tar.gz' })).toBe('a+b.tar.gz');
    expect(nodePreGypMirrorPath({ remotePath: '/abs/', packageName: 'a.tar.gz' })).toBeNull();
    expect(nodePreGypMirrorPath({ remotePath: '../../', packageName: 'a.tar.gz' })).toBeNull();
  });

  it('returns null for a binary field without module_name', () => {
    expect(nodePreGypLayout({ name: 'sqlite3', version: '5.1.7', main: null, binary: { napi_versions: [3, 6] } }, glibc, 6)).toBeNull();
  });
});

describe('target names', () => {
  it('names node-ABI and N-API targets with prebuild-install’s platform+libc', () => {
    expect(targetName({ runtime: 'node', abi: 115, platform: 'linux', libc: '', arch: 'x64' })).toBe('node-v115-linux-x64');
    expect(targetName({ runtime: 'node', abi: 115, platform: 'linux', libc: 'musl', arch: 'arm64' })).toBe('node-v115-linuxmusl-arm64');
    const ts = targetsFor({ node: '20.20.2', ...glibc });
    expect(ts.map((t) => t.name)).toEqual(['node-v115-linux-x64', 'napi-linux-x64']);
    expect(ts[1]!.facts).toEqual({ node: '20.20.2', ...glibc, runtime: 'napi' });
  });
});
