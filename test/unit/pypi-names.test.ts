import { describe, expect, it } from 'vitest';
import { isAbsurdName, isPep440, normalizePypiName, sameVersion, wheelDistName } from '../../src/ecosystems/pypi/names.ts';
import { matchWheel, parseWheelFilename } from '../../src/ecosystems/pypi/wheel-name.ts';

describe('PyPI names (PEP 503)', () => {
  it('normalises runs of -_. to one dash, lower-cased', () => {
    expect(normalizePypiName('Friendly-Bard')).toBe('friendly-bard');
    expect(normalizePypiName('FRIENDLY__bard')).toBe('friendly-bard');
    expect(normalizePypiName('friendly.-_bard')).toBe('friendly-bard');
    expect(normalizePypiName('zope.interface')).toBe('zope-interface');
  });

  it('calls names over 200 characters absurd', () => {
    expect(isAbsurdName('a'.repeat(200))).toBe(false);
    expect(isAbsurdName('a'.repeat(201))).toBe(true);
  });

  it('spells distribution names for wheel filenames with underscores', () => {
    expect(wheelDistName('zope.interface')).toBe('zope_interface');
    expect(wheelDistName('my-pkg')).toBe('my_pkg');
  });

  it('compares versions as PEP 440 does', () => {
    expect(sameVersion('1.0', '1.0.0')).toBe(true);
    expect(sameVersion('1.0rc1', '1.0-RC1')).toBe(true);
    expect(sameVersion('1.0.post1', '1.0_1')).toBe(true);
    expect(sameVersion('1.0', '1.1')).toBe(false);
    expect(isPep440('1!2.0.dev3+local.1')).toBe(true);
    expect(isPep440('not-a-version')).toBe(false);
  });
});

describe('wheel filenames (PEP 427)', () => {
  it('parses the five parts and compressed tag sets', () => {
    expect(parseWheelFilename('zope_interface-6.1-cp311-cp311-linux_x86_64.whl')).toEqual({
      filename: 'zope_interface-6.1-cp311-cp311-linux_x86_64.whl',
      dist: 'zope_interface',
      version: '6.1',
      build: null,
      python: ['cp311'],
      abi: ['cp311'],
      platform: ['linux_x86_64'],
    });
    const w = parseWheelFilename('six-1.16.0-py2.py3-none-any.whl')!;
    expect(w.python).toEqual(['py2', 'py3']);
    expect(w.abi).toEqual(['none']);
  });

  it('parses a build tag, which must start with a digit', () => {
    expect(parseWheelFilename('pkg-1.0-1local-py3-none-any.whl')?.build).toBe('1local');
    expect(parseWheelFilename('pkg-1.0-local-py3-none-any.whl')).toBeNull();
  });

  it('rejects what is not a wheel', () => {
    for (const f of ['pkg-1.0.tar.gz', 'pkg-1.0-py3-none.whl', 'pkg-1.0-a-b-py3-none-any.whl', '../pkg-1.0-py3-none-any.whl', 'pkg--1.0-py3-none-any.whl']) {
      expect(parseWheelFilename(f), f).toBeNull();
    }
  });

  it('matches a wheel or its .metadata to a project and version, normalising both', () => {
    expect(typeof matchWheel('Zope.Interface-6.1-cp311-cp311-linux_x86_64.whl', 'zope-interface', '6.1')).toBe('object');
    expect(typeof matchWheel('zope_interface-6.1.0-cp311-cp311-linux_x86_64.whl.metadata', 'zope.interface', '6.1')).toBe('object');
    expect(matchWheel('other-6.1-py3-none-any.whl', 'zope.interface', '6.1')).toMatch(/wheel of "other"/);
    expect(matchWheel('zope_interface-6.2-py3-none-any.whl', 'zope.interface', '6.1')).toMatch(/version 6.2, not 6.1/);
    expect(matchWheel('zope_interface-6.1.tar.gz', 'zope.interface', '6.1')).toMatch(/not a wheel filename/);
  });
});
