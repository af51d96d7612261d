import { describe, expect, it } from 'vitest';
import { BlockingIndex, waitingOrder } from '../../src/ecosystems/debian/blocking.ts';
import type { SectionPackage } from '../../src/ecosystems/debian/section-graph.ts';
import { computeSectionStates, type PackageLog } from '../../src/ecosystems/debian/states.ts';

const pkg = (name: string, depends: string[][] = [], provides: string[] = []): SectionPackage => ({ name, version: '1', depends, provides });
const log = (name: string, kind: PackageLog['kind']): PackageLog => ({ name, version: '1', kind });

// libc ← libfoo ← {app1, app2 ← suite}; libbar ← app3; tool alone;
// broken ← {user1 ← user2}.
const SECTION = [
  pkg('suite', [['app2']]),
  pkg('app1', [['libfoo'], ['libc']]),
  pkg('app2', [['libfoo']]),
  pkg('app3', [['libbar-virtual']]),
  pkg('libfoo', [['libc']]),
  pkg('libbar', [], ['libbar-virtual']),
  pkg('libc'),
  pkg('tool'),
  pkg('broken'),
  pkg('user1', [['broken']]),
  pkg('user2', [['user1']]),
];

describe('reverse-dependency counts', () => {
  const states = computeSectionStates(SECTION, [log('broken', 'fail')]);
  const index = new BlockingIndex(states);

  it('counts transitive waiting dependents and the chain length', () => {
    expect(index.counts('libc')).toEqual({ rrdeps: 4, blocking: 0, waiting: 4, chainLength: 4 });
    expect(index.counts('libfoo')).toEqual({ rrdeps: 3, blocking: 0, waiting: 3, chainLength: 3 });
    expect(index.counts('libbar')).toEqual({ rrdeps: 1, blocking: 0, waiting: 1, chainLength: 2 });
    expect(index.counts('tool')).toEqual({ rrdeps: 0, blocking: 0, waiting: 0, chainLength: 1 });
    expect(index.counts('nope')).toBeUndefined();
  });

  it('counts blocked dependents of a failed package', () => {
    expect(states.state('user2')).toBe('dependency-failed-testing');
    expect(index.counts('broken')).toEqual({ rrdeps: 2, blocking: 2, waiting: 0, chainLength: 3 });
  });
});

describe('waitingOrder (piuparts reserve order)', () => {
  it('hands out what most packages wait on first, ties at random', () => {
    const states = computeSectionStates(SECTION, [log('broken', 'fail')]);
    // weights: libc (min(4,4)=4, 4), libbar (1, 1), tool (0, 0)
    expect(waitingOrder(states, { random: () => 0.5 })).toEqual(['libc', 'libbar', 'tool']);
  });

  it('leaves reserved packages out unless marked for recycling', () => {
    const states = computeSectionStates(SECTION, [log('libc', 'reserved')]);
    expect(states.state('libc')).toBe('waiting-to-be-tested');
    expect(waitingOrder(states)).not.toContain('libc');
    const recycled = computeSectionStates(SECTION, [log('libc', 'reserved'), log('libc', 'recycle')], { recycleMode: true });
    expect(waitingOrder(recycled)[0]).toBe('libc');
  });

  it('breaks ties with the random source', () => {
    const flat = computeSectionStates([pkg('aa'), pkg('bb'), pkg('cc')], []);
    const ranks: Record<string, number> = { aa: 0.1, bb: 0.9, cc: 0.5 };
    let i = 0;
    const order = ['aa', 'bb', 'cc'];
    expect(waitingOrder(flat, { random: () => ranks[order[i++]!]! })).toEqual(['bb', 'cc', 'aa']);
  });

  it('in recycle mode puts packages without a pass first, then older marks', () => {
    const section = [pkg('passed'), pkg('old'), pkg('new')];
    const states = computeSectionStates(
      section,
      [log('passed', 'pass'), log('passed', 'recycle'), log('old', 'fail'), log('old', 'recycle'), log('new', 'fail'), log('new', 'recycle')],
      { recycleMode: true },
    );
    const times: Record<string, number> = { passed: 100, old: 1000, new: 2_000_000 };
    const order = waitingOrder(states, { random: () => 0, recycleFacts: (name) => ({ ctime: times[name]!, mtime: times[name]! }) });
    expect(order).toEqual(['old', 'new', 'passed']);
  });
});
