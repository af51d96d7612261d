import { describe, expect, it } from 'vitest';
import { parseControl } from '../../src/ecosystems/debian/control.ts';
import { binaryPackageOf, sectionPackageOf } from '../../src/ecosystems/debian/packages-index.ts';
import {
  ACTIVE_STATES,
  PACKAGE_STATES,
  type DependencyState,
  type LogKind,
  type PackageState,
} from '../../src/ecosystems/debian/state-names.ts';
import { computeSectionStates, type StateOptions } from '../../src/ecosystems/debian/states.ts';

/** The status of a package blocked by `dependency` (in state `depState`). */
const blockedBy = (state: PackageState, dependency: string, depState: DependencyState) => ({ state, blocker: { dependency, state: depState } });
/** The status of a package waiting for `dependency`. */
const waitsFor = (dependency: string, depState: DependencyState) => blockedBy('waiting-for-dependency-to-be-tested', dependency, depState);

/** Compute states for a hand-written Packages index and `name version kind` log lines. */
function section(packages: string, logs: string[] = [], options: StateOptions = {}) {
  const pkgs = parseControl(packages).map((p) => sectionPackageOf(binaryPackageOf(p)));
  const parsed = logs.map((l) => {
    const [name, version, kind] = l.split(' ') as [string, string, LogKind];
    return { name, version, kind };
  });
  return computeSectionStates(pkgs, parsed, options);
}

describe('piuparts state list', () => {
  it('has piuparts order, and status reports the non-obsolete ones', () => {
    expect(PACKAGE_STATES).toHaveLength(14);
    expect(ACTIVE_STATES).toEqual([
      'successfully-tested',
      'failed-testing',
      'cannot-be-tested',
      'waiting-to-be-tested',
      'waiting-for-dependency-to-be-tested',
      'dependency-failed-testing',
      'dependency-cannot-be-tested',
      'dependency-does-not-exist',
      'unknown',
      'outdated',
    ]);
  });
});

describe('states from logs and dependency chains', () => {
  const CHAIN = `Package: a
Version: 1
Depends: b

Package: b
Version: 1
Depends: c (>= 1)

Package: c
Version: 2
`;

  it('a→b→c with c passed: b is next, a waits for b', () => {
    const s = section(CHAIN, ['c 2 pass']);
    expect(s.status('c')).toEqual({ state: 'successfully-tested' });
    expect(s.status('b')).toEqual({ state: 'waiting-to-be-tested' });
    expect(s.status('a')).toEqual(waitsFor('b', 'waiting-to-be-tested'));
  });

  it('ignores results for another version than the index has', () => {
    const s = section(CHAIN, ['c 1 pass', 'b 0.9 fail']);
    expect(s.state('c')).toBe('waiting-to-be-tested');
    expect(s.status('b')).toEqual(waitsFor('c', 'waiting-to-be-tested'));
  });

  it('propagates a failure up the chain, naming the failed dependency at each step', () => {
    const s = section(CHAIN, ['c 2 fail']);
    expect(s.status('c')).toEqual({ state: 'failed-testing' });
    expect(s.status('b')).toEqual(blockedBy('dependency-failed-testing', 'c', 'failed-testing'));
    expect(s.status('a')).toEqual(blockedBy('dependency-failed-testing', 'b', 'dependency-failed-testing'));
  });

  it('treats bugged and affected logs as failures, and untestable as cannot-be-tested', () => {
    expect(section(CHAIN, ['c 2 bugged']).state('b')).toBe('dependency-failed-testing');
    expect(section(CHAIN, ['c 2 affected']).state('c')).toBe('failed-testing');
    const s = section(CHAIN, ['c 2 untestable']);
    expect(s.state('c')).toBe('cannot-be-tested');
    expect(s.status('b')).toEqual(blockedBy('dependency-cannot-be-tested', 'c', 'cannot-be-tested'));
    expect(s.state('a')).toBe('dependency-cannot-be-tested');
  });

  it('names a missing dependency, and blocks its dependents as cannot-be-tested', () => {
    const s = section('Package: a\nVersion: 1\nDepends: b\n\nPackage: b\nVersion: 1\nDepends: libgone1\n');
    expect(s.status('b')).toEqual(blockedBy('dependency-does-not-exist', 'libgone1', 'does-not-exist'));
    expect(s.status('a')).toEqual(blockedBy('dependency-cannot-be-tested', 'b', 'dependency-does-not-exist'));
  });

  it('reports the first error in dependency order, before any waiting dependency', () => {
    const s = section('Package: a\nVersion: 1\nDepends: w, f1, f2\n\nPackage: w\nVersion: 1\n\nPackage: f1\nVersion: 1\n\nPackage: f2\nVersion: 1\n', [
      'f1 1 untestable',
      'f2 1 fail',
    ]);
    expect(s.status('a')).toEqual(blockedBy('dependency-cannot-be-tested', 'f1', 'cannot-be-tested'));
  });

  it('takes Pre-Depends into account after Depends', () => {
    const s = section('Package: a\nVersion: 1\nDepends: ok\nPre-Depends: bad\n\nPackage: ok\nVersion: 1\n\nPackage: bad\nVersion: 1\n', [
      'ok 1 pass',
      'bad 1 fail',
    ]);
    expect(s.status('a')).toEqual(blockedBy('dependency-failed-testing', 'bad', 'failed-testing'));
  });

  it('ignores version relations and Essential/Priority, as piuparts does', () => {
    const s = section('Package: a\nVersion: 1\nDepends: b (>= 9)\n\nPackage: b\nVersion: 1\nEssential: yes\nPriority: required\n', [
      'b 1 pass',
    ]);
    expect(s.state('a')).toBe('waiting-to-be-tested');
    expect(section('Package: e\nVersion: 1\nEssential: yes\nPriority: required\n').state('e')).toBe('waiting-to-be-tested');
  });

  it('keeps a pass only while its first-choice dependencies exist', () => {
    const idx = 'Package: a\nVersion: 1\nDepends: gone | b\n\nPackage: b\nVersion: 1\n\nPackage: c\nVersion: 1\nDepends: gone\n';
    const s = section(idx, ['a 1 pass', 'b 1 pass', 'c 1 pass']);
    expect(s.state('a')).toBe('successfully-tested');
    expect(s.status('c')).toEqual(blockedBy('dependency-does-not-exist', 'gone', 'does-not-exist'));
    expect(section(idx, ['c 1 pass'], { useCachedSuccess: true }).state('c')).toBe('successfully-tested');
  });

  it('counts a reservation as waiting-to-be-tested', () => {
    expect(section(CHAIN, ['a 1 reserved']).state('a')).toBe('waiting-to-be-tested');
  });

  it('in recycle mode, a recycle mark makes earlier results not count', () => {
    const s = section(CHAIN, ['c 2 pass', 'c 2 recycle', 'b 1 fail', 'b 1 recycle', 'a 1 reserved'], { recycleMode: true });
    expect(s.state('c')).toBe('waiting-to-be-tested');
    expect(s.state('b')).toBe('waiting-for-dependency-to-be-tested');
    expect(s.state('a')).toBe('waiting-to-be-tested');
    expect(section(CHAIN, ['c 2 pass', 'c 2 recycle']).state('c')).toBe('successfully-tested');
  });
});

describe('alternatives', () => {
  const ALT = `Package: a
Version: 1
Depends: b | c

Package: b
Version: 1

Package: c
Version: 1
`;

  it('uses a passed alternative when another failed', () => {
    expect(section(ALT, ['b 1 fail', 'c 1 pass']).status('a')).toEqual({ state: 'waiting-to-be-tested' });
    expect(section(ALT, ['b 1 pass', 'c 1 fail']).status('a')).toEqual({ state: 'waiting-to-be-tested' });
  });

  it('waits for a waiting alternative rather than blame a failed one', () => {
    expect(section(ALT, ['b 1 fail']).status('a')).toEqual(waitsFor('c', 'waiting-to-be-tested'));
  });

  it('blames the first alternative when all have failed', () => {
    expect(section(ALT, ['b 1 untestable', 'c 1 fail']).status('a')).toEqual(blockedBy('dependency-cannot-be-tested', 'b', 'cannot-be-tested'));
  });

  it('names the whole group when no alternative exists', () => {
    const s = section('Package: a\nVersion: 1\nDepends: x | y\n');
    expect(s.status('a')).toEqual(blockedBy('dependency-does-not-exist', 'x | y', 'does-not-exist'));
  });

  it('keeps the first alternative when the only existing one failed (piuparts quirk)', () => {
    const s = section('Package: a\nVersion: 1\nDepends: x | c\n\nPackage: c\nVersion: 1\n', ['c 1 fail']);
    expect(s.status('a')).toEqual(blockedBy('dependency-does-not-exist', 'x', 'does-not-exist'));
  });
});

describe('virtual packages', () => {
  const VIRT = `Package: a
Version: 1
Depends: mail-transport-agent

Package: exim4
Version: 4.96-15
Provides: mail-transport-agent

Package: postfix
Version: 3.7.10-0+deb12u1
Provides: mail-transport-agent
`;

  it('is satisfied through its best provider', () => {
    expect(section(VIRT, ['exim4 4.96-15 fail', 'postfix 3.7.10-0+deb12u1 pass']).status('a')).toEqual({
      state: 'waiting-to-be-tested',
    });
  });

  it('waits on the best waiting provider, naming it', () => {
    expect(section(VIRT, ['exim4 4.96-15 fail']).status('a')).toEqual({
      state: 'waiting-for-dependency-to-be-tested',
      blocker: { dependency: 'mail-transport-agent', state: 'waiting-to-be-tested', via: 'postfix' },
    });
  });

  it('fails through a provider that failed', () => {
    const s = section('Package: a\nVersion: 1\nDepends: v\n\nPackage: p\nVersion: 1\nProvides: v\n', ['p 1 fail']);
    expect(s.status('a')).toEqual({ state: 'dependency-failed-testing', blocker: { dependency: 'v', state: 'failed-testing', via: 'p' } });
  });

  it('does not exist without a provider', () => {
    const s = section('Package: a\nVersion: 1\nDepends: no-provider\n');
    expect(s.status('a')).toEqual(blockedBy('dependency-does-not-exist', 'no-provider', 'does-not-exist'));
  });

  it('looks up as its first provider, or virtual', () => {
    const s = section(VIRT, ['postfix 3.7.10-0+deb12u1 pass']);
    expect(s.lookup('mail-transport-agent')).toEqual({ state: 'waiting-to-be-tested', via: 'exim4' });
    expect(s.lookup('mail-transport-agent', { resolveVirtual: false })).toEqual({ state: 'virtual' });
    expect(s.bestState('mail-transport-agent')).toEqual({ state: 'successfully-tested', via: 'postfix' });
    expect(s.lookup('nothing')).toEqual({ state: 'does-not-exist' });
  });

  it('counts names piuparts lists as foreign or missing on purpose as satisfied', () => {
    const s = section('Package: a\nVersion: 1\nDepends: ia32-libs-i386, kbdcontrol\n');
    expect(s.state('a')).toBe('waiting-to-be-tested');
    expect(s.lookup('ia32-libs-i386').state).toBe('foreign:i386');
    const strict = section('Package: a\nVersion: 1\nDepends: kbdcontrol\n', [], { ignoredMissing: new Set() });
    expect(strict.state('a')).toBe('dependency-does-not-exist');
  });
});

describe('dependency cycles', () => {
  it('tests both sides of a↔b', () => {
    const s = section('Package: a\nVersion: 1\nDepends: b\n\nPackage: b\nVersion: 1\nDepends: a\n');
    expect(s.status('a')).toEqual({ state: 'waiting-to-be-tested', circular: true });
    expect(s.status('b')).toEqual({ state: 'waiting-to-be-tested', circular: true });
  });

  it('keeps a pass on a cycle, and fails the other side of a failed member', () => {
    const idx = 'Package: a\nVersion: 1\nDepends: b\n\nPackage: b\nVersion: 1\nDepends: a\n';
    const passed = section(idx, ['a 1 pass']);
    expect(passed.status('a')).toEqual({ state: 'successfully-tested' });
    expect(passed.status('b')).toEqual({ state: 'waiting-to-be-tested' });
    const s = section(idx, ['a 1 fail']);
    expect(s.status('b')).toEqual(blockedBy('dependency-failed-testing', 'a', 'failed-testing'));
  });

  it('makes cycle members wait for dependencies outside the cycle', () => {
    const s = section(
      'Package: a\nVersion: 1\nDepends: b, c\n\nPackage: b\nVersion: 1\nDepends: a\n\nPackage: c\nVersion: 1\nDepends: d\n\nPackage: d\nVersion: 1\n',
    );
    expect(s.status('c')).toEqual(waitsFor('d', 'waiting-to-be-tested'));
    expect(s.status('a')).toEqual(waitsFor('c', 'waiting-for-dependency-to-be-tested'));
    // b's only dependency is on its cycle, so piuparts lets it be tested.
    expect(s.status('b')).toEqual({ state: 'waiting-to-be-tested', circular: true });
  });

  it('handles a long ring and a package depending on itself', () => {
    const n = 500;
    let idx = '';
    for (let i = 0; i < n; i++) idx += `Package: r${i}\nVersion: 1\nDepends: r${(i + 1) % n}\n\n`;
    idx += 'Package: self\nVersion: 1\nDepends: self\n';
    const s = section(idx);
    expect(s.inState('waiting-to-be-tested')).toHaveLength(n + 1);
    expect(s.status('self')).toEqual({ state: 'waiting-to-be-tested', circular: true });
  });

  it('looks for cycles on the graph with the alternative just chosen', () => {
    // a first counts as depending on itself; once b is waiting, a picks b,
    // and a→b→a is the cycle that makes a testable.
    const s = section('Package: b\nVersion: 1\nDepends: a, w\n\nPackage: a\nVersion: 1\nDepends: a | b\n\nPackage: w\nVersion: 1\n');
    expect(s.status('b')).toEqual(waitsFor('w', 'waiting-to-be-tested'));
    expect(s.status('a')).toEqual({ state: 'waiting-to-be-tested', circular: true });
    expect(s.chosenDependencies(s.graph.id('a')!)).toEqual(['b']);
  });

  it('does not see a cycle closed only through a virtual name (as piuparts)', () => {
    const s = section('Package: a\nVersion: 1\nDepends: b\nProvides: va\n\nPackage: b\nVersion: 1\nDepends: va\n');
    // b's cycle comes back to it by name, so b may be tested; a's comes
    // back only through the virtual name va, so a waits for b.
    expect(s.status('b')).toEqual({ state: 'waiting-to-be-tested', circular: true });
    expect(s.status('a')).toEqual(waitsFor('b', 'waiting-to-be-tested'));
  });
});

describe('dependency sections', () => {
  const SID = computeSectionStates(
    [
      { name: 'libbase1', version: '2.0', depends: [], provides: ['libbase'] },
      { name: 'tool', version: '3.0', depends: [], provides: [] },
    ],
    [
      { name: 'libbase1', version: '2.0', kind: 'pass' },
      { name: 'tool', version: '3.0', kind: 'fail' },
    ],
    { useCachedSuccess: true },
  );

  it('resolves names from the dependency sections and marks older packages outdated', () => {
    const exp = computeSectionStates(
      [
        { name: 'app', version: '1.0', depends: [['libbase']], provides: [] },
        { name: 'tool', version: '2.0', depends: [], provides: [] },
        { name: 'uses-tool', version: '1.0', depends: [['tool']], provides: [] },
      ],
      [],
      { dependencySections: [SID] },
    );
    expect(exp.state('app')).toBe('waiting-to-be-tested');
    expect(exp.state('tool')).toBe('outdated');
    expect(exp.status('uses-tool')).toEqual(blockedBy('dependency-failed-testing', 'tool', 'failed-testing'));
  });

  it('follows a provider named by a dependency section to this section’s package of that name', () => {
    const sid = computeSectionStates([{ name: 'libnew1', version: '1', depends: [], provides: ['libnew'] }], [], {
      useCachedSuccess: true,
    });
    // experimental has its own libnew1, so app's "libnew" leads to it, and
    // app→libnew1→app is a cycle that comes back to app by name.
    const exp = computeSectionStates(
      [
        { name: 'libnew1', version: '2', depends: [['app']], provides: [] },
        { name: 'app', version: '1', depends: [['libnew']], provides: [] },
      ],
      [],
      { dependencySections: [sid] },
    );
    expect(exp.target('libnew')).toBe(exp.graph.id('libnew1'));
    expect(exp.status('app')).toEqual({ state: 'waiting-to-be-tested', circular: true });
    expect(exp.status('libnew1')).toEqual(waitsFor('app', 'waiting-to-be-tested'));
  });
});

describe('order independence', () => {
  it('gives the same states whatever the index order, outside cycles', () => {
    const pkgs = [
      { name: 'app', version: '1', depends: [['lib1'], ['tool | alt'.split(' | ')].flat()], provides: [] },
      { name: 'lib1', version: '1', depends: [['base']], provides: [] },
      { name: 'tool', version: '1', depends: [['base'], ['broken']], provides: [] },
      { name: 'alt', version: '1', depends: [['base']], provides: [] },
      { name: 'broken', version: '1', depends: [], provides: [] },
      { name: 'base', version: '1', depends: [], provides: [] },
    ];
    const logs = [
      { name: 'broken', version: '1', kind: 'fail' as const },
      { name: 'base', version: '1', kind: 'pass' as const },
    ];
    const forward = computeSectionStates(pkgs, logs);
    const backward = computeSectionStates([...pkgs].reverse(), logs);
    for (const p of pkgs) expect(backward.status(p.name), p.name).toEqual(forward.status(p.name));
    expect(forward.status('app')).toEqual(waitsFor('lib1', 'waiting-to-be-tested'));
    expect(forward.counts()['waiting-to-be-tested']).toBe(2);
  });

  it('refuses a name listed twice', () => {
    expect(() =>
      computeSectionStates(
        [
          { name: 'a', version: '1', depends: [], provides: [] },
          { name: 'a', version: '2', depends: [], provides: [] },
        ],
        [],
      ),
    ).toThrow(/listed twice/);
  });
});
