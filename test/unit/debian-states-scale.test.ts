import { describe, expect, it } from 'vitest';
import { BlockingIndex, waitingOrder } from '../../src/ecosystems/debian/blocking.ts';
import type { SectionPackage } from '../../src/ecosystems/debian/section-graph.ts';
import type { DependencyState, PackageState } from '../../src/ecosystems/debian/state-names.ts';
import { computeSectionStates, type PackageLog } from '../../src/ecosystems/debian/states.ts';

/** The status of a package blocked by `dependency` (in state `depState`). */
const blockedBy = (state: PackageState, dependency: string, depState: DependencyState) => ({ state, blocker: { dependency, state: depState } });
/** The status of a package waiting for `dependency`. */
const waitsFor = (dependency: string, depState: DependencyState) => blockedBy('waiting-for-dependency-to-be-tested', dependency, depState);

const CHAIN = 20_000;
const RINGS = 200;
const RING_SIZE = 50;
const BASES = 1_000;
const TOTAL = 65_000;

/**
 * A synthetic section the size of Debian main: one 20,000-long chain
 * listed dependents first (the worst order for piuparts' rounds), 200
 * rings of 50, 1,000 base libraries (every other one passed, one virtual
 * name per ten), and the rest random packages with alternatives over what
 * came before.
 */
function synthetic(): { packages: SectionPackage[]; logs: PackageLog[] } {
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  const packages: SectionPackage[] = [];
  const logs: PackageLog[] = [];
  for (let i = 0; i < CHAIN; i++) {
    packages.push({ name: `chain${i}`, version: '1', depends: i + 1 < CHAIN ? [[`chain${i + 1}`]] : [['base0']], provides: [] });
  }
  logs.push({ name: 'chain15000', version: '1', kind: 'fail' });
  for (let r = 0; r < RINGS; r++) {
    for (let i = 0; i < RING_SIZE; i++) {
      const next = `ring${r}-${(i + 1) % RING_SIZE}`;
      packages.push({ name: `ring${r}-${i}`, version: '1', depends: [[next], [`base${r}`]], provides: [] });
    }
  }
  for (let b = 0; b < BASES; b++) {
    packages.push({ name: `base${b}`, version: '1', depends: [], provides: b % 10 === 0 ? [`virtual${b / 10}`] : [] });
    if (b % 2 === 0) logs.push({ name: `base${b}`, version: '1', kind: 'pass' });
  }
  const pool = packages.map((p) => p.name).filter((n) => !n.startsWith('chain'));
  for (let i = packages.length; i < TOTAL; i++) {
    const depends: string[][] = [];
    const groups = Math.floor(rnd() * 4);
    for (let g = 0; g < groups; g++) {
      const pick = () => (rnd() < 0.1 ? `virtual${Math.floor(rnd() * 120)}` : pool[Math.floor(rnd() * pool.length)]!);
      depends.push(rnd() < 0.2 ? [pick(), pick()] : [pick()]);
    }
    const name = `rand${i}`;
    packages.push({ name, version: '1', depends, provides: [] });
    pool.push(name);
    if (rnd() < 0.3) logs.push({ name, version: '1', kind: rnd() < 0.8 ? 'pass' : 'fail' });
  }
  return { packages, logs };
}

describe('a Debian-sized section', () => {
  it('computes 65,000 states with long chains and cycles', { timeout: 120_000 }, () => {
    const { packages, logs } = synthetic();
    expect(packages).toHaveLength(TOTAL);
    const states = computeSectionStates(packages, logs);
    const order = waitingOrder(states, { index: new BlockingIndex(states), random: () => 0 });

    expect(states.status('chain19999')).toEqual({ state: 'waiting-to-be-tested' });
    expect(states.status('chain19998')).toEqual(waitsFor('chain19999', 'waiting-to-be-tested'));
    expect(states.status('chain15001')).toEqual(waitsFor('chain15002', 'waiting-for-dependency-to-be-tested'));
    expect(states.status('chain14999')).toEqual(blockedBy('dependency-failed-testing', 'chain15000', 'failed-testing'));
    expect(states.state('chain0')).toBe('dependency-failed-testing');
    // Rings on a passed base may be tested; rings on an untested base wait for it.
    expect(states.status('ring0-7')).toEqual({ state: 'waiting-to-be-tested', circular: true });
    expect(states.status('ring1-7')).toEqual(waitsFor('base1', 'waiting-to-be-tested'));
    const counts = states.counts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(TOTAL);
    expect(order.length).toBe(counts['waiting-to-be-tested']);
    expect(order.indexOf('chain19999')).toBeGreaterThanOrEqual(0);
  });
});
