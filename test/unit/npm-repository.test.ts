import { describe, expect, it } from 'vitest';
import { repositoryFiles } from '../../src/ecosystems/npm/repository.ts';
import { usage } from '../../src/ecosystems/npm/usage.ts';
import type { PublishedArtifact, RepositoryInput } from '../../src/ecosystems/types.ts';

const art = (a: Partial<PublishedArtifact> & Pick<PublishedArtifact, 'filename'>): PublishedArtifact => ({
  size: 1234,
  sha256: 'ab'.repeat(32),
  tags: { kind: 'prebuild-install', runtime: 'node', abi: 115, platform: 'linux', arch: 'x64', libc: '', client: 'prebuild-install' },
  storePath: `/store/${a.filename}`,
  version: '12.4.1',
  target: 'node-v115-linux-x64',
  ...a,
});

const input = (displayName: string, artifacts: PublishedArtifact[]): RepositoryInput => ({
  versions: [],
  packageName: displayName.toLowerCase(),
  displayName,
  packageMeta: {},
  artifacts,
  baseUrl: 'http://kiln.test:8470/',
});

describe('npm repository layout', () => {
  it('puts prebuild-install archives where <name>_binary_host makes prebuild-install look', () => {
    const files = repositoryFiles(input('better-sqlite3', [art({ filename: 'better-sqlite3-v12.4.1-node-v115-linux-x64.tar.gz' })]));
    expect(files.get('npm/prebuilds/better-sqlite3/v12.4.1/better-sqlite3-v12.4.1-node-v115-linux-x64.tar.gz')).toEqual({
      linkFrom: '/store/better-sqlite3-v12.4.1-node-v115-linux-x64.tar.gz',
    });
    const idx = JSON.parse(String((files.get('npm/index/better-sqlite3.json') as { content: string }).content));
    expect(idx).toEqual({
      name: 'better-sqlite3',
      versions: {
        '12.4.1': {
          'node-v115-linux-x64': [
            {
              filename: 'better-sqlite3-v12.4.1-node-v115-linux-x64.tar.gz',
              url: 'http://kiln.test:8470/npm/prebuilds/better-sqlite3/v12.4.1/better-sqlite3-v12.4.1-node-v115-linux-x64.tar.gz',
              size: 1234,
              sha256: 'ab'.repeat(32),
              kind: 'prebuild-install',
              runtime: 'node',
              abi: 115,
            },
          ],
        },
      },
    });
  });

  it('keeps scoped names as directories, with unscoped file names', () => {
    const files = repositoryFiles(
      input('@my-org/addon', [art({ filename: 'addon-v1.0.0-napi-v8-linux-x64.tar.gz', version: '1.0.0', target: 'napi-linux-x64' })]),
    );
    expect([...files.keys()].sort()).toEqual([
      'npm/index/@my-org/addon.json',
      'npm/prebuilds/@my-org/addon/v1.0.0/addon-v1.0.0-napi-v8-linux-x64.tar.gz',
    ]);
    const plain = repositoryFiles(input('@scope/addon', [art({ filename: 'addon-v1.0.0-node-v115-linux-x64.tar.gz', version: '1.0.0' })]));
    expect(plain.has('npm/prebuilds/@scope/addon/v1.0.0/addon-v1.0.0-node-v115-linux-x64.tar.gz')).toBe(true);
  });

  it('mirrors node-pre-gyp’s remote_path layout and refuses unsafe paths', () => {
    const tags = { kind: 'node-pre-gyp', runtime: 'napi', abi: 3, platform: 'linux', arch: 'x64', libc: '', client: 'node-pre-gyp', moduleName: 'bcrypt_lib' };
    const files = repositoryFiles(
      input('bcrypt', [
        art({ filename: 'good.tar.gz', version: '5.1.1', tags: { ...tags, mirrorPath: 'kelektiv/node.bcrypt.js/releases/download/v5.1.1/bcrypt_lib-v5.1.1-napi-v3-linux-x64-glibc.tar.gz' } }),
        art({ filename: 'evil.tar.gz', version: '5.1.1', tags: { ...tags, mirrorPath: '../../etc/passwd' } }),
      ]),
    );
    expect(files.has('npm/node-pre-gyp/bcrypt/kelektiv/node.bcrypt.js/releases/download/v5.1.1/bcrypt_lib-v5.1.1-napi-v3-linux-x64-glibc.tar.gz')).toBe(true);
    expect([...files.keys()].some((k) => k.includes('passwd'))).toBe(false);
  });
});

describe('npm usage blocks', () => {
  it('gives the prebuild-install host lines and the install-scripts note', () => {
    const blocks = usage(input('better-sqlite3', [art({ filename: 'better-sqlite3-v12.4.1-node-v115-linux-x64.tar.gz' })]));
    expect(blocks[0]!.lines).toEqual([
      'export npm_config_better_sqlite3_binary_host=http://kiln.test:8470/npm/prebuilds/better-sqlite3',
      'npm install better-sqlite3',
      '',
      '# or, in .npmrc:',
      'better_sqlite3_binary_host=http://kiln.test:8470/npm/prebuilds/better-sqlite3',
    ]);
    expect(blocks[0]!.note).toMatch(/npm install-scripts approve better-sqlite3/);
    expect(blocks[1]!.lines[1]).toBe(
      'download=http://kiln.test:8470/npm/prebuilds/{name}/v{version}/{name}-v{version}-{runtime}-v{abi}-{platform}{libc}-{arch}.tar.gz',
    );
  });

  it('says scoped names only work through the environment', () => {
    const blocks = usage(input('@scope/addon', [art({ filename: 'addon-v1.0.0-node-v115-linux-x64.tar.gz', version: '1.0.0' })]));
    expect(blocks).toHaveLength(1);
    expect(blocks[0]!.lines).toEqual(['export npm_config__scope_addon_binary_host=http://kiln.test:8470/npm/prebuilds/@scope/addon', 'npm install @scope/addon']);
    expect(blocks[0]!.note).toMatch(/only the environment variable works/);
  });

  it('gives the node-pre-gyp mirror line', () => {
    const tags = { kind: 'node-pre-gyp', runtime: 'napi', abi: 3, platform: 'linux', arch: 'x64', libc: '', client: 'node-pre-gyp', moduleName: 'bcrypt_lib', mirrorPath: 'a/b.tar.gz' };
    const blocks = usage(input('bcrypt', [art({ filename: 'b.tar.gz', version: '5.1.1', tags })]));
    expect(blocks.map((b) => b.title)).toEqual(['node-pre-gyp: use Kiln as the binary mirror']);
    expect(blocks[0]!.lines[0]).toBe('export npm_config_bcrypt_lib_binary_host_mirror=http://kiln.test:8470/npm/node-pre-gyp/bcrypt/');
    expect(blocks[0]!.lines[4]).toBe('bcrypt_lib_binary_host_mirror=http://kiln.test:8470/npm/node-pre-gyp/bcrypt/');
  });

  it('is honest about packages with no download hook', () => {
    const tags = { kind: 'prebuild-install', runtime: 'napi', abi: 9, platform: 'linux', arch: 'x64', libc: '', client: 'node-gyp-build' };
    const blocks = usage(input('bufferutil', [art({ filename: 'bufferutil-v4.0.9-napi-v9-linux-x64.tar.gz', version: '4.0.9', tags })]));
    expect(blocks).toHaveLength(1);
    expect(blocks[0]!.note).toMatch(/no setting for a download host/);
  });
});
