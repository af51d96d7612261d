import { describe, expect, it } from 'vitest';
import {
  applicableGroups,
  archMatches,
  formatRelation,
  parseProvides,
  parseRelations,
  RelationSyntaxError,
} from '../../src/ecosystems/debian/relations.ts';

const names = (field: string) => parseRelations(field).map((g) => g.map((r) => r.name));

describe('parseRelations (Policy §7.1)', () => {
  it('splits groups on commas and alternatives on bars', () => {
    expect(names('libc6 (>= 2.34), debconf | debconf-2.0, zlib1g')).toEqual([['libc6'], ['debconf', 'debconf-2.0'], ['zlib1g']]);
    expect(parseRelations('')).toEqual([]);
    expect(parseRelations('  \n ')).toEqual([]);
  });

  it('reads version relations, normalising the obsolete < and >', () => {
    expect(parseRelations('a (<< 1.0), b(>=1:2.0-1~bpo1), c (< 2), d (> 3)').map((g) => g[0]!.version)).toEqual([
      { op: '<<', version: '1.0' },
      { op: '>=', version: '1:2.0-1~bpo1' },
      { op: '<=', version: '2' },
      { op: '>=', version: '3' },
    ]);
  });

  it('keeps multiarch qualifiers apart from the name', () => {
    const [py, perl] = parseRelations('python3:any (>= 3.11~), perl:native').map((g) => g[0]!);
    expect(py).toMatchObject({ name: 'python3', archQualifier: 'any', version: { op: '>=', version: '3.11~' } });
    expect(perl).toMatchObject({ name: 'perl', archQualifier: 'native', version: null });
  });

  it('reads architecture restrictions and build profiles', () => {
    const [a, b, c] = parseRelations(
      'libseccomp-dev [amd64 arm64 linux-any] | libfoo-dev [!hurd-i386 !kfreebsd-any] <!nocheck> <stage1 cross>, dh-sequence-python3 <!nopython>',
    ).flat();
    expect(a!.arches).toEqual([
      { arch: 'amd64', negated: false },
      { arch: 'arm64', negated: false },
      { arch: 'linux-any', negated: false },
    ]);
    expect(b!.arches).toEqual([
      { arch: 'hurd-i386', negated: true },
      { arch: 'kfreebsd-any', negated: true },
    ]);
    expect(b!.profiles).toEqual([
      [{ profile: 'nocheck', negated: true }],
      [
        { profile: 'stage1', negated: false },
        { profile: 'cross', negated: false },
      ],
    ]);
    expect(c!.profiles).toEqual([[{ profile: 'nopython', negated: true }]]);
    expect(formatRelation(b!)).toBe('libfoo-dev [!hurd-i386 !kfreebsd-any] <!nocheck> <stage1 cross>');
  });

  it('takes folded multi-line values and skips empty groups', () => {
    expect(names('a,\n b |\n  c ,, d,')).toEqual([['a'], ['b', 'c'], ['d']]);
  });

  it('rejects malformed fields with the offset', () => {
    for (const bad of ['a (>= )', 'a (~ 1)', 'a b', '${misc:Depends}', 'a [amd64 !i386]', 'a [', 'a | , b', 'a (>= 1']) {
      expect(() => parseRelations(bad), bad).toThrow(RelationSyntaxError);
    }
    expect(() => parseRelations('libc6 (>= 2.3) foo')).toThrow(expect.objectContaining({ position: 15 }));
  });

  it('parses Provides, allowing only = versions', () => {
    expect(parseProvides('mail-transport-agent, libfoo-abi-2 (= 2.1)').map(formatRelation)).toEqual([
      'mail-transport-agent',
      'libfoo-abi-2 (= 2.1)',
    ]);
    expect(() => parseProvides('a | b')).toThrow(RelationSyntaxError);
    expect(() => parseProvides('a (>= 1)')).toThrow(RelationSyntaxError);
  });
});

describe('architecture and profile filtering', () => {
  it('matches architecture wildcards against Debian port names', () => {
    expect(archMatches('any', 'armhf')).toBe(true);
    expect(archMatches('linux-any', 'amd64')).toBe(true);
    expect(archMatches('any-amd64', 'amd64')).toBe(true);
    expect(archMatches('any-amd64', 'kfreebsd-amd64')).toBe(true);
    expect(archMatches('linux-any', 'hurd-i386')).toBe(false);
    expect(archMatches('i386', 'amd64')).toBe(false);
  });

  it('drops alternatives that do not apply, and groups left empty', () => {
    const groups = parseRelations('a [amd64] | b [!amd64], c [i386], d <!nocheck>, e <stage1>');
    const kept = (arch: string, profiles: string[]) =>
      applicableGroups(groups, arch, new Set(profiles)).map((g) => g.map((r) => r.name));
    expect(kept('amd64', [])).toEqual([['a'], ['d']]);
    expect(kept('i386', ['nocheck', 'stage1'])).toEqual([['b'], ['c'], ['e']]);
  });
});
