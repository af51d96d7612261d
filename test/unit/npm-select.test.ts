import { describe, expect, it } from 'vitest';
import type { NpmManifest, NpmPackument } from '../../src/ecosystems/npm/manifest.ts';
import { selectVersions, versionNpmPicks } from '../../src/ecosystems/npm/select.ts';

const ver = (version: string, engines?: string, deprecated?: string): NpmManifest => ({
  name: 'better-sqlite3',
  version,
  dist: { tarball: `https://r/better-sqlite3/-/better-sqlite3-${version}.tgz` },
  ...(engines ? { engines: { node: engines } } : {}),
  ...(deprecated ? { deprecated } : {}),
});

// Shaped like better-sqlite3: 13.x needs Node 22, 12.x runs on 20.
const packument: NpmPackument = {
  name: 'better-sqlite3',
  'dist-tags': { latest: '13.0.0', next: '14.0.0-beta.1' },
  versions: Object.fromEntries(
    [
      ver('11.10.0', '>=18'),
      ver('12.4.0', '20.x || 22.x || 23.x || 24.x'),
      ver('12.4.1', '20.x || 22.x || 23.x || 24.x'),
      ver('12.5.0', '20.x || 22.x', 'broken, use 12.4.1'),
      ver('13.0.0', '>=22'),
      ver('14.0.0-beta.1', '>=22'),
    ].map((m) => [m.version, m]),
  ),
};

describe('version selection policy', () => {
  it('"all" keeps every version, newest first', () => {
    expect(selectVersions(packument, 'all')).toEqual(['14.0.0-beta.1', '13.0.0', '12.5.0', '12.4.1', '12.4.0', '11.10.0']);
  });

  it('a range keeps the versions satisfying it', () => {
    expect(selectVersions(packument, '^12')).toEqual(['12.5.0', '12.4.1', '12.4.0']);
    expect(selectVersions(packument, '>=12.4.1 <13')).toEqual(['12.5.0', '12.4.1']);
  });

  it('"latest" is dist-tags.latest plus what npm installs on each Node', () => {
    expect(selectVersions(packument, 'latest')).toEqual(['13.0.0']);
    expect(versionNpmPicks(packument, '20.20.2')).toBe('12.4.1');
    expect(versionNpmPicks(packument, '22.12.0')).toBe('13.0.0');
    expect(selectVersions(packument, 'latest', ['20.20.2', '22.12.0', '20.1.0'])).toEqual(['13.0.0', '12.4.1']);
  });

  it('copes with empty packuments', () => {
    expect(selectVersions({ name: 'gone', versions: {} }, 'latest', ['20.20.2'])).toEqual([]);
  });
});
