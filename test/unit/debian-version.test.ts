import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  compareDebianVersions,
  compareVersionPart,
  DebianVersionError,
  parseDebianVersion,
  satisfiesVersion,
} from '../../src/ecosystems/debian/version.ts';

describe('parseDebianVersion (Policy §5.6.12)', () => {
  it('splits epoch, upstream and revision at the first colon and last hyphen', () => {
    expect(parseDebianVersion('1:2.36-9+deb12u4')).toEqual({ epoch: 1, upstream: '2.36', revision: '9+deb12u4' });
    expect(parseDebianVersion('2.10')).toEqual({ epoch: 0, upstream: '2.10', revision: '' });
    expect(parseDebianVersion('1.2-3-4')).toEqual({ epoch: 0, upstream: '1.2-3', revision: '4' });
    expect(parseDebianVersion('2:1.0:beta-1')).toEqual({ epoch: 2, upstream: '1.0:beta', revision: '1' });
    expect(parseDebianVersion('1.0~rc1')).toEqual({ epoch: 0, upstream: '1.0~rc1', revision: '' });
  });

  it('rejects what dpkg rejects', () => {
    for (const bad of ['', '1.0 beta', 'a:1.0', ':1.0', '1.0-', '1:', '-1', '1.0_1', '1.0-a_b']) {
      expect(() => parseDebianVersion(bad), bad).toThrow(DebianVersionError);
    }
  });
});

describe('compareDebianVersions (dpkg verrevcmp)', () => {
  // Each version sorts strictly before the next.
  const ascending = [
    '0~~',
    '0~',
    '0',
    '0.0',
    '1.0~~',
    '1.0~~a',
    '1.0~',
    '1.0~rc1',
    '1.0~rc2',
    '1.0',
    '1.0-0.1',
    '1.0-1',
    '1.0-1+b1',
    '1.0-1.1',
    '1.0-2~bpo12+1',
    '1.0-2',
    '1.0a',
    '1.0+dfsg',
    '1.0.1',
    '1.1',
    '1.9',
    '1.10',
    '1.100',
    '20231231',
    '99999999999999999999999999998',
    '99999999999999999999999999999',
    '1:0.1',
    '1:0.1-1',
    '2:0~beta',
  ];

  it('orders the list ascending, pairwise both ways', () => {
    for (let i = 0; i < ascending.length; i++) {
      for (let j = 0; j < ascending.length; j++) {
        const expected = Math.sign(i - j);
        expect(compareDebianVersions(ascending[i]!, ascending[j]!), `${ascending[i]} vs ${ascending[j]}`).toBe(expected);
      }
    }
  });

  it('treats a missing epoch as 0 and a missing revision as equal to 0, like dpkg', () => {
    expect(compareDebianVersions('0:1.0', '1.0')).toBe(0);
    expect(compareDebianVersions('1.0-0', '1.0')).toBe(0);
    expect(compareDebianVersions('1.01', '1.1')).toBe(0);
    expect(compareDebianVersions('1.0-00', '1.0-0')).toBe(0);
  });

  it('weighs ~ below the end of the string and letters below other symbols', () => {
    expect(compareVersionPart('~', '')).toBeLessThan(0);
    expect(compareVersionPart('a', '+')).toBeLessThan(0);
    expect(compareVersionPart('Z', 'a')).toBeLessThan(0);
    expect(compareVersionPart('.', '+')).toBeGreaterThan(0);
  });

  it('checks version relations (Policy §7.1)', () => {
    expect(satisfiesVersion('2.36-9', '>=', '2.36')).toBe(true);
    expect(satisfiesVersion('2.36~rc1', '>=', '2.36')).toBe(false);
    expect(satisfiesVersion('1.0', '=', '0:1.0-0')).toBe(true);
    expect(satisfiesVersion('1.0', '<<', '1.0')).toBe(false);
    expect(satisfiesVersion('1.0', '<=', '1.0')).toBe(true);
    expect(satisfiesVersion('1:0.1', '>>', '9.9')).toBe(true);
  });

  const dpkg = spawnSync('dpkg', ['--version']).status === 0;
  it.skipIf(!dpkg)('agrees with dpkg --compare-versions', () => {
    const samples = ['1.0', '1.0~rc1', '1:0.9', '1.0-1', '1.0+b1', '1.0a', '1.0.0', '0.99~', '1.0-1~bpo1', '2.0-0.1'];
    for (const a of samples) {
      for (const b of samples) {
        const lt = spawnSync('dpkg', ['--compare-versions', a, 'lt', b]).status === 0;
        const eq = spawnSync('dpkg', ['--compare-versions', a, 'eq', b]).status === 0;
        expect(compareDebianVersions(a, b), `${a} vs ${b}`).toBe(lt ? -1 : eq ? 0 : 1);
      }
    }
  });
});
