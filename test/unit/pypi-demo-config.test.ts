/**
 * The PyPI demo's config (examples/pypi-demo/kiln.toml) as `kiln up
 * --config` reads it: the real loader, no environment.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';

const FILE = join(import.meta.dirname, '../../examples/pypi-demo/kiln.toml');

describe('examples/pypi-demo/kiln.toml', () => {
  it('enables PyPI on the demo upstream beside npm with one package', () => {
    const { config, sources } = loadConfig(FILE, {}, {});
    expect(sources.file).toBe(FILE);
    expect(config.pypi).toMatchObject({
      enabled: true,
      xmlrpc: 'http://127.0.0.1:8480/pypi',
      simple: 'http://127.0.0.1:8480/simple',
      json: 'http://127.0.0.1:8480/pypi',
      packages: ['kiln-demo-pure', 'kiln-demo-cext', 'kiln-demo-broken'],
    });
    // npm stays on its defaults (the registry npm itself uses), with one quick package.
    expect(config.npm).toMatchObject({ enabled: true, versions: 'latest', packages: ['bufferutil'] });
    expect(config.npm.registry).toBeUndefined();
    expect(config.master).toMatchObject({ listen: '127.0.0.1:8470', data_dir: '/tmp/kiln-pypi-demo' });
  });
});
